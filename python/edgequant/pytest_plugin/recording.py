"""``eq_record``: metrics of running tests, into the sweeps' SQLite store, then a table and a report.

Each test function is one "sweep" of the store (``sweep_id = "pytest:<file>::<function>"``) and
each of its parametrized cases one point: a quantizer found among the test's parameters (or given
to ``eq_record(quantizer=...)``) supplies ``method``, ``params`` and the curve label, so rows read
exactly like a sweep's and :class:`edgequant.sweep.ResultStore` reads them back.
"""

from __future__ import annotations

import json
import math
import numbers
import re
import shutil
import tempfile
from pathlib import Path

from ..sweep.store import ResultStore

#: Metrics that have their own column in the store (the rest go to its ``metrics`` JSON).
STORE_COLUMNS = ("entropy", "compression_ratio", "space_saving", "weight_sqnr_db", "weight_count")

#: Rows listed per test in the terminal table (the report lists them all).
TERMINAL_ROWS = 12


class Recording:
    """What ``eq_record`` wrote during one pytest session.

    Parameters
    ----------
    db : pathlib.Path or None
        The SQLite file (opened on the first record); None: a temporary file, removed by
        :meth:`close`.
    budget_pp : float
        Allowed loss for the best-within-budget tables.
    create_folder : bool
        Create the folder of ``db`` if needed (the ``--eq-report`` folder).
    """

    def __init__(self, db: Path | None, budget_pp: float = 1.0, create_folder: bool = False):
        self.create_folder = create_folder
        self.db = None if db is None else Path(db)
        self._temporary: str | None = None
        self.budget_pp = budget_pp
        self._store: ResultStore | None = None
        self.rows: dict[str, dict[str, dict]] = {}  # sweep id -> point key -> row
        self.baselines: dict[str, dict] = {}
        self.outcomes: dict[tuple[str, str], str] = {}

    @property
    def store(self) -> ResultStore:
        if self._store is None:
            if self.db is None:
                self._temporary = tempfile.mkdtemp(prefix="edgequant-pytest-")
                self.db = Path(self._temporary) / "results.sqlite"
            if self.create_folder:
                self.db.parent.mkdir(parents=True, exist_ok=True)
            self._store = ResultStore(self.db)
        return self._store

    def record(self, sweep_id: str, point: dict, metrics: dict) -> dict:
        """Add (or complete) the row of ``point`` in ``sweep_id`` and commit it."""
        key = json.dumps({"method": point["method"], "params": point["params"], "case": point["case"]}, sort_keys=True)
        sweep = self.rows.setdefault(sweep_id, {})
        if not sweep:
            self._begin(sweep_id)
        row = sweep.setdefault(key, {**point, "sweep_id": sweep_id, "point_key": key, "status": "ok", "metrics": {}})
        for name, value in metrics.items():
            if name in STORE_COLUMNS:
                row[name] = value
            else:
                row["metrics"][name] = value
        if row.get("entropy") is not None and "compression_ratio" not in metrics:
            from ..entropy import compression_ratio, space_saving

            row["compression_ratio"] = compression_ratio(row["entropy"])
            row["space_saving"] = space_saving(row["entropy"])
        self.store.add({k: v for k, v in row.items() if k != "case"})
        return row

    def set_baseline(self, sweep_id: str, metrics: dict) -> None:
        """The reference (e.g. FP32) metrics of a test function's cases."""
        self.baselines[sweep_id] = {**self.baselines.get(sweep_id, {}), **metrics}
        self.rows.setdefault(sweep_id, {})
        self._begin(sweep_id)

    def set_outcome(self, sweep_id: str, case: str, outcome: str) -> None:
        self.outcomes[(sweep_id, case)] = outcome

    def _begin(self, sweep_id: str) -> None:
        test = sweep_id.removeprefix("pytest:")
        self.store.begin_sweep(sweep_id, test, "", "", {"source": "pytest", "test": test},
                               self.baselines.get(sweep_id, {}))  # fmt: skip

    def table_rows(self, sweep_id: str) -> list[dict]:
        """This session's rows of a test: flat dicts (metrics as keys), with ``case`` and ``outcome``."""
        rows = []
        for row in self.rows.get(sweep_id, {}).values():
            flat = {k: v for k, v in row.items() if k != "metrics"}
            flat.update(row["metrics"])
            flat["outcome"] = self.outcomes.get((sweep_id, row["case"]), "")
            rows.append(flat)
        return rows

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._temporary is not None:
            shutil.rmtree(self._temporary, ignore_errors=True)
            self._temporary = None


def metric_values(metrics: dict) -> dict:
    """Metrics as plain floats (ints for ``weight_count``); refuses non-numbers and NaN, naming them."""
    checked = {}
    for name, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"eq_record: metric {name}={value!r} must be a real number")
        value = float(value)
        if math.isnan(value):
            raise ValueError(f"eq_record: metric {name} is NaN")
        checked[name] = int(value) if name == "weight_count" else value
    return checked


def point_of(quantizer, case: str, label: str) -> dict:
    """The store's point fields for a test case: from a quantizer (or its spec), else the case id."""
    from ..sweep.grid import curve_label

    if quantizer is None:
        return {"method": "", "params": {}, "label": label, "case": case}
    spec = quantizer.spec() if hasattr(quantizer, "spec") else quantizer
    if not isinstance(spec, dict) or not isinstance(spec.get("method"), str):
        raise TypeError(f"eq_record: quantizer must be a quantizer or a point dict, got {quantizer!r}")
    spec = {"method": spec["method"], "params": dict(spec.get("params", {}))}
    return {**spec, "label": curve_label(spec), "case": case}


def best_metric(rows: list[dict], baseline: dict) -> str | None:
    """The metric a test's table and plot are about: top1 when recorded, else the first recorded."""
    names = [name for row in rows for name in row if name not in _NOT_METRICS]
    for preferred in ("top1", "top1_agreement"):
        if preferred in names or preferred in baseline:
            return preferred
    names += list(baseline)
    return names[0] if names else None


_NOT_METRICS = {"sweep_id", "point_key", "method", "params", "label", "status", "case", "outcome", "error",
                *STORE_COLUMNS}  # fmt: skip


def terminal_lines(recording: Recording) -> list[str]:
    """The end-of-session table: per test, its best point per curve within budget, or its rows."""
    from ..sweep.summary import format_summary, summary_table

    lines = []
    for sweep_id in recording.rows:
        rows = recording.table_rows(sweep_id)
        baseline = recording.baselines.get(sweep_id, {})
        metric = best_metric(rows, baseline)
        lines.append(f"{sweep_id.removeprefix('pytest:')}: {len(rows)} case(s) recorded")
        rated = [row for row in rows if row.get("entropy") is not None and metric in row]
        if rated and metric in baseline:
            table = summary_table(rated, baseline, metric, recording.budget_pp)
            lines += ["  " + line for line in format_summary(table, baseline, metric, recording.budget_pp).splitlines()]
            continue
        names = ["entropy"] * any("entropy" in row for row in rows) + sorted(
            {name for row in rows for name in row} - _NOT_METRICS - {"entropy"}
        )
        lines.append("  " + f"{'case':<36} " + " ".join(f"{name[:14]:>14}" for name in names) + "  outcome")
        for row in rows[:TERMINAL_ROWS]:
            cells = " ".join(f"{_number(row.get(name)):>14}" for name in names)
            lines.append("  " + f"{row['case'][:36]:<36} " + cells + f"  {row['outcome']}")
        if len(rows) > TERMINAL_ROWS:
            lines.append(f"  ... {len(rows) - TERMINAL_ROWS} more (--eq-report DIR lists them all)")
    return lines


def write_report(recording: Recording, folder: Path) -> Path:
    """``<folder>/report.md``: per test, the best-within-budget table, the RD plot and every row."""
    from ..report import MarkdownReport
    from ..sweep.plots import plot_rate_distortion
    from ..sweep.summary import summary_table

    report = MarkdownReport(folder, "edgequant experiment suite")
    report.paragraph(f"Results database: `{recording.db}`; budget {recording.budget_pp:g} pp.")
    for sweep_id in recording.rows:
        rows = recording.table_rows(sweep_id)
        baseline = recording.baselines.get(sweep_id, {})
        metric = best_metric(rows, baseline)
        report.heading(f"`{sweep_id.removeprefix('pytest:')}`")
        if baseline:
            report.paragraph("Reference: " + ", ".join(f"{k} = {_number(v)}" for k, v in baseline.items()))
        rated = [row for row in rows if row.get("entropy") is not None and metric in row]
        if rated and metric in baseline:
            report.paragraph(f"Best point of every curve within {recording.budget_pp:g} pp of the reference {metric}:")
            report.table(summary_table(rated, baseline, metric, recording.budget_pp))
            name = "rd_" + re.sub(r"[^A-Za-z0-9]+", "_", sweep_id.removeprefix("pytest:")).strip("_") + ".png"
            title = f"{sweep_id.split('::')[-1]}: entropy vs {metric}"
            plot_rate_distortion(rated, baseline, folder / name, metric, title=title)
            report.parts.append(f"![entropy vs {metric}]({name})\n")
        elif rated:
            report.paragraph("No rate-distortion plot: record the reference with `eq_record.baseline(...)`.")
        columns = [c for c in ("case", "label", "entropy", "compression_ratio") if any(c in row for row in rows)]
        columns += sorted({name for row in rows for name in row} - _NOT_METRICS - set(columns)) + ["outcome"]
        report.table(rows, columns)
    return report.write()


def _number(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
