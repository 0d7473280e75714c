"""The profile's figure: latency per run and the confidence shifts of the INT8 runs against FP32."""

from __future__ import annotations

import pathlib

import numpy as np

__all__ = ["plot_report"]


def plot_report(report, path) -> pathlib.Path:
    """Write ``report``'s (a :class:`~.report.ProfileReport`) figure to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    names = [n for n in report.runs if "error" not in report.runs[n]]
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    p50 = [report.runs[n]["p50_ms"] for n in names]
    p90 = [report.runs[n]["p90_ms"] for n in names]
    colors = ["tab:blue" if n.startswith("edgequant") else "tab:gray" for n in names]
    bars = left.barh(names, p50, xerr=[np.zeros(len(names)), np.subtract(p90, p50)], color=colors)
    left.set_xlabel("latency per batch (ms): p50, whisker to p90")
    left.invert_yaxis()
    for bar, name in zip(bars, names, strict=True):
        run = report.runs[name]
        if run.get("throttled"):
            bar.set_hatch("//")
            bar.set_edgecolor("tab:red")
        if run.get("soc_temp_c") is not None:
            label = f" {run['soc_temp_c']:.0f} °C" + (" THROTTLED" if run.get("throttled") else "")
            left.text(
                bar.get_width(),
                bar.get_y() + bar.get_height() / 2,
                label,
                va="center",
                fontsize=7,
                color="tab:red" if run.get("throttled") else "black",
            )
    for name in names:
        shift = report.runs[name].get("confidence_shift")
        if shift and not name.endswith("fp32"):
            right.hist(shift, bins=40, histtype="step", label=name)
    right.set_xlabel("top-class confidence shift against FP32")
    right.set_ylabel("samples")
    if right.get_legend_handles_labels()[0]:
        right.legend(fontsize=7)
    title = pathlib.Path(report.model).name
    if report.platform:
        title += f" on {report.platform.get('model')}"
    figure.suptitle(title)
    figure.tight_layout()
    path = pathlib.Path(path)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
