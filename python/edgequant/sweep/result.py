"""What a sweep returns: its rows, the reference metrics, and the views built on them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .plots import plot_rate_distortion
from .store import write_csv
from .summary import best_within_budget, format_summary, summary_table


@dataclass(eq=False)
class SweepResult:
    """The points of one sweep (one row per grid point) and how to read them.

    Attributes
    ----------
    table : list of dict
        One row per point of the grid that has a result, in grid order: ``method``,
        ``params``, ``label`` (curve), ``status``, ``entropy`` (bits/weight),
        ``compression_ratio`` (32/H), ``space_saving``, ``weight_sqnr_db``, every metric of
        :meth:`edgequant.evaluate.Evaluator.evaluate` (``top1``, ``top1_agreement``...), and the
        seconds spent per phase (``quantize_s``, ``entropy_s``, ``evaluate_s``).
    baseline : dict
        Metrics of the reference (FP32) model on the same data.
    metric : str
        The metric budgets are counted in (``top1`` with labels, else ``top1_agreement``).
    budget_pp : float
        Default allowed loss in percentage points.
    sweep_id : str
    db : pathlib.Path
    timings : dict
        Parent-side seconds: ``wall_s`` (whole call), ``setup_s`` (checks, reference run),
        ``store_s`` (SQLite writes), ``points_run`` (points computed in this call) and
        ``points_skipped`` (found finished in the database).
    """

    table: list[dict]
    baseline: dict
    metric: str
    budget_pp: float
    sweep_id: str
    db: Path
    timings: dict = field(default_factory=dict)

    def to_pandas(self):
        """The table as a pandas DataFrame (``params`` as JSON text; needs pandas)."""
        import json

        import pandas as pd

        return pd.DataFrame(
            [
                {
                    **{k: v for k, v in row.items() if k != "metrics"},
                    "params": json.dumps(row["params"], sort_keys=True),
                }
                for row in self.table
            ]
        )

    def to_csv(self, path: str | os.PathLike) -> Path:
        """Write the table to CSV."""
        return write_csv(self.table, path)

    def best(self, budget_pp: float | None = None, metric: str | None = None) -> dict | None:
        """The lowest-entropy point within the budget (see :func:`~.summary.best_within_budget`)."""
        budget = self.budget_pp if budget_pp is None else budget_pp
        return best_within_budget(self.table, self.baseline, metric or self.metric, budget)

    def summary(self, budget_pp: float | None = None, metric: str | None = None) -> list[dict]:
        """Best point of every curve within the budget (see :func:`~.summary.summary_table`)."""
        budget = self.budget_pp if budget_pp is None else budget_pp
        return summary_table(self.table, self.baseline, metric or self.metric, budget)

    def format_summary(self, budget_pp: float | None = None) -> str:
        """:meth:`summary` as a plain-text table."""
        budget = self.budget_pp if budget_pp is None else budget_pp
        return format_summary(self.summary(budget), self.baseline, self.metric, budget)

    def plot(self, path: str | os.PathLike, metric: str | None = None, title: str | None = None) -> Path:
        """Save the rate–distortion plot (PNG); see :func:`~.plots.plot_rate_distortion`."""
        return plot_rate_distortion(self.table, self.baseline, path, metric or self.metric, title)

    def __repr__(self):
        ok = sum(row["status"] == "ok" for row in self.table)
        points = f"{len(self.table)} points, {ok} ok"
        return f"SweepResult({points}, metric={self.metric!r}, db={str(self.db)!r})"
