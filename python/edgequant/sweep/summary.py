"""Pick the lowest rate within an accuracy budget; tabulate the best point of every curve.

The loss of a point is how far its metric falls below the reference (FP32) model's, in
percentage points: ``100·(metric_fp32 − metric)``. With labels the metric is top-1 accuracy;
without, ``top1_agreement`` with the FP32 predictions (whose reference value is 1).
"""

from __future__ import annotations

import math

#: Metric columns of a summary, with their header, in order.
SUMMARY_COLUMNS = ("label", "method", "params", "entropy", "compression_ratio", "metric", "loss_pp")

#: Tolerance on the budget so that a loss equal to it (up to float rounding) counts as within.
_BUDGET_SLACK = 1e-9


def default_metric(baseline: dict) -> str:
    """``top1`` when the sweep had labels, else ``top1_agreement``."""
    return "top1" if "top1" in baseline else "top1_agreement"


def loss_pp(row: dict, baseline: dict, metric: str) -> float:
    """``100·(baseline[metric] − row[metric])``: accuracy lost, in percentage points."""
    return 100.0 * (float(baseline[metric]) - float(row[metric]))


def _usable(row: dict, metric: str) -> bool:
    value = row.get(metric)
    return row.get("status", "ok") == "ok" and value is not None and math.isfinite(float(value))


def best_within_budget(rows, baseline: dict, metric: str | None = None, budget_pp: float = 1.0):
    """The point of lowest entropy whose loss is at most ``budget_pp``.

    Parameters
    ----------
    rows : iterable of dict
        Points with ``entropy`` and the metric (as from :meth:`ResultStore.rows`).
    baseline : dict
        Reference metrics.
    metric : str, optional
        Default: :func:`default_metric`.
    budget_pp : float, default 1.0
        Allowed loss in percentage points (>= 0).

    Returns
    -------
    dict or None
        The row (with ``loss_pp`` added), or None if no point is within budget. Ties in entropy
        go to the higher metric, then to the first row.
    """
    if not math.isfinite(budget_pp) or budget_pp < 0:
        raise ValueError(f"budget_pp must be a finite number >= 0, got {budget_pp}")
    metric = metric or default_metric(baseline)
    if metric not in baseline:
        raise ValueError(f"metric {metric!r} is not among the reference metrics {sorted(baseline)}")
    best, best_rank = None, None
    for order, row in enumerate(rows):
        if not _usable(row, metric):
            continue
        loss = loss_pp(row, baseline, metric)
        if loss > budget_pp + _BUDGET_SLACK:
            continue
        rank = (float(row["entropy"]), -float(row[metric]), order)
        if best_rank is None or rank < best_rank:
            best, best_rank = {**row, "loss_pp": loss}, rank
    return best


def summary_table(rows, baseline: dict, metric: str | None = None, budget_pp: float = 1.0) -> list[dict]:
    """The paper's Tables 3.9/3.10: the best point of every curve within the budget.

    Returns
    -------
    list of dict
        One entry per curve label (method; dead-zone per δ; affine per tensor/channel) with a
        point within budget, keys :data:`SUMMARY_COLUMNS`, sorted by entropy (best first).
    """
    metric = metric or default_metric(baseline)
    rows = list(rows)
    table = []
    for label in dict.fromkeys(row["label"] for row in rows):
        best = best_within_budget([r for r in rows if r["label"] == label], baseline, metric, budget_pp)
        if best is not None:
            table.append(
                {
                    "label": label,
                    "method": best["method"],
                    "params": best["params"],
                    "entropy": best["entropy"],
                    "compression_ratio": best["compression_ratio"],
                    "metric": best[metric],
                    "loss_pp": best["loss_pp"],
                }
            )
    return sorted(table, key=lambda entry: entry["entropy"])


def format_summary(table: list[dict], baseline: dict, metric: str, budget_pp: float) -> str:
    """A plain-text rendering of :func:`summary_table` for terminals and reports."""
    header = f"{'curve':<22} {'params':<44} {'H bits/w':>9} {'CR':>7} {metric:>15} {'loss pp':>8}"
    lines = [
        f"reference (FP32) {metric} = {float(baseline[metric]):.4f}; budget {budget_pp:g} pp",
        header,
        "-" * len(header),
    ]
    for entry in table:
        params = ", ".join(f"{k}={v}" for k, v in entry["params"].items())
        lines.append(
            f"{entry['label']:<22} {params:<44} {entry['entropy']:>9.4f} "
            f"{entry['compression_ratio']:>7.2f} {entry['metric']:>15.4f} {entry['loss_pp']:>8.2f}"
        )
    if not table:
        lines.append("(no point within budget)")
    return "\n".join(lines)
