"""Histograms of weights with fitted PDFs overlaid (the paper's Figures 3.2–3.5)."""

from __future__ import annotations

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def draw_fits(ax, report, criterion: str = "sse", top: int = 3, log: bool = False, title: str = "") -> None:
    """Draw ``report``'s histogram and its ``top`` best PDFs by ``criterion`` on ``ax``."""
    from ..fit import pdf

    edges = np.asarray(report.histogram["edges"])
    density = np.asarray(report.histogram["density"])
    centers = (edges[:-1] + edges[1:]) / 2
    ax.stairs(density, edges, fill=True, alpha=0.35, color="0.4", label="weights (histogram)")
    grid = np.linspace(edges[0], edges[-1], 600)
    for fit in report.ranking(criterion)[:top]:
        label = f"{fit.family} ({criterion}={fit.score(criterion):.3g})"
        ax.plot(grid, pdf(fit.family, grid, **fit.params), lw=1.6, label=label)
    if log:
        ax.set_yscale("log")
        positive = density[density > 0]
        if positive.size:
            ax.set_ylim(positive.min() / 3, density.max() * 3)
    ax.set_xlim(centers[0], centers[-1])
    ax.set_xlabel("weight")
    ax.set_ylabel("density" + (" (log)" if log else ""))
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)


def plot_fits(report, title: str = "", criterion: str = "sse", top: int = 3):
    """A figure with the histogram and the best fitted PDFs, linear and log y side by side."""
    plt = _pyplot()
    figure, (linear, logarithmic) = plt.subplots(1, 2, figsize=(11, 3.8))
    draw_fits(linear, report, criterion, top, log=False, title=title)
    draw_fits(logarithmic, report, criterion, top, log=True, title=f"{title} (log scale)" if title else "log scale")
    figure.tight_layout()
    return figure


def plot_layer_grid(by_layer: dict, criterion: str = "sse", top: int = 2, columns: int = 4):
    """One small panel per layer: its histogram and best ``top`` fits."""
    plt = _pyplot()
    names = list(by_layer)
    if not names:
        raise ValueError("no per-layer fits to plot (run the analysis with per_layer=True)")
    rows = (len(names) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(3.4 * columns, 2.6 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        draw_fits(ax, by_layer[name], criterion, top, title=name if len(name) < 40 else "…" + name[-38:])
        ax.xaxis.label.set_visible(False)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    figure.tight_layout()
    return figure
