"""Rate–distortion plots: entropy (bits/weight) against the task metric, one curve per method."""

from __future__ import annotations

import math
import os
from pathlib import Path

from .summary import default_metric


def plot_rate_distortion(
    rows,
    baseline: dict,
    path: str | os.PathLike,
    metric: str | None = None,
    title: str | None = None,
) -> Path:
    """Save a PNG of entropy vs metric, one curve per label, FP32 as a dashed line.

    Parameters
    ----------
    rows : iterable of dict
        Sweep points (``label``, ``entropy``, the metric, ``status``).
    baseline : dict
        Reference metrics; ``baseline[metric]`` is drawn dashed.
    path : str or os.PathLike
        The PNG to write (its folder must exist).
    metric : str, optional
        Default: ``top1`` with labels, else ``top1_agreement``. Accuracy-like metrics in [0, 1]
        are shown in percent.
    title : str, optional

    Returns
    -------
    pathlib.Path
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # no pyplot: no global state, works headless

    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot save the plot to {str(path)!r}: no folder {str(path.parent)!r}")
    metric = metric or default_metric(baseline)
    percent = metric in ("top1", "top5", "accuracy", "macro_accuracy", "top1_agreement")
    scale = 100.0 if percent else 1.0
    curves: dict[str, list[tuple[float, float]]] = {}
    for row in rows:
        value = row.get(metric)
        if row.get("status", "ok") != "ok" or value is None or not math.isfinite(float(value)):
            continue
        curves.setdefault(row["label"], []).append((float(row["entropy"]), scale * float(value)))

    figure = Figure(figsize=(8, 5.5), dpi=120)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    # the default cycle repeats after 10 colours and the registry has more curves than that: after 10,
    # the same colours come back with another line style and marker, so no two curves look alike
    styles = [("-", "o"), ("--", "s"), (":", "^")]
    for index, (label, points) in enumerate(curves.items()):
        points.sort()
        linestyle, marker = styles[index // 10 % len(styles)]
        axes.plot(
            [p[0] for p in points],
            [p[1] for p in points],
            color=f"C{index % 10}",
            linestyle=linestyle,
            marker=marker,
            markersize=3,
            linewidth=1.2,
            label=label,
        )
    axes.axhline(scale * float(baseline[metric]), color="black", linestyle="--", linewidth=1, label="FP32")
    axes.set_xlabel("entropy (bits/weight)")
    axes.set_ylabel(f"{metric} (%)" if percent else metric)
    axes.set_title(title or "Rate–distortion: entropy vs task metric")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=7, ncol=2, loc="lower right")
    figure.tight_layout()
    figure.savefig(path)
    return path
