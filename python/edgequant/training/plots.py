"""Paper 002's figures 2–7 from a grid's rows: accuracy and density vs bits per γ, the PE heat map
and PE vs bits (ρ = 2), and the test / training accuracy per epoch."""

from __future__ import annotations

import math
import os
from pathlib import Path

from .score import efficiency_score
from .tables import baseline_accuracy, best_per_config


def _figure(width=6.4, height=4.2):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # no pyplot: no global state, works headless

    figure = Figure(figsize=(width, height), dpi=120)
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot(1, 1, 1)


def _save(figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path)
    return path


def _by_gamma(best: dict) -> tuple[list[float], list[int]]:
    return sorted({g for g, _ in best}), sorted({b for _, b in best})


def _pe(run: dict, base: float, bits: int, rho: int) -> float:
    return efficiency_score(run["test_acc"], base, run["density"], bits, 32, rho) if run["density"] > 0 else math.nan


def plot_figures(rows: list[dict], folder: str | os.PathLike, rho: int = 2,
                 curve_bits: int | None = None) -> list[Path]:
    """Write ``fig2_accuracy_vs_bits.png`` … ``fig7_train_accuracy.png`` into ``folder``.

    Parameters
    ----------
    rows : list of dict
        A grid's rows (:func:`~.grid.run_training_grid`); per (γ, bits) the run with the best
        validation accuracy over learning rates is drawn.
    folder : path-like
        Existing folder for the PNGs.
    rho : int, default 2
        ρ of the PE figures (the paper's figures 4 and 5 use 2).
    curve_bits : int, optional
        Bits of the per-epoch figures 6 and 7 (the paper: 16); default 16 if run, else the
        widest quantizing width run.

    Returns
    -------
    list of pathlib.Path
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no folder {str(folder)!r} for the figures")
    best = best_per_config(rows)
    if not best:
        raise ValueError("no finished runs to plot")
    gammas, bits = _by_gamma(best)
    positions = {b: i for i, b in enumerate(bits)}
    paths = []

    for name, key, label in (("fig2_accuracy_vs_bits.png", "test_acc", "test accuracy (%)"),
                             ("fig3_density_vs_bits.png", "density", "density (%)")):
        figure, axes = _figure()
        for gamma in gammas:
            points = [(positions[b], 100 * best[(gamma, b)][key]) for b in bits if (gamma, b) in best]
            axes.plot(*zip(*points, strict=True), marker="o", label=f"γ = {gamma:.3f}")
        axes.set_xticks(range(len(bits)), [str(b) for b in bits])
        axes.set(xlabel="quantization (bits)", ylabel=label)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
        paths.append(_save(figure, folder / name))

    try:
        base = baseline_accuracy(best)
    except ValueError:
        base = None
    if base is not None:
        quantized = [b for b in bits if b < 32] or bits
        compressed = [g for g in gammas if g > 0] or gammas
        figure, axes = _figure()
        grid = [[_pe(best[(g, b)], base, b, rho) if (g, b) in best else math.nan for b in quantized]
                for g in compressed]
        image = axes.imshow(grid, cmap="viridis", aspect="auto")
        for i, line in enumerate(grid):
            for j, value in enumerate(line):
                if not math.isnan(value):
                    axes.text(j, i, f"{value:.1f}", ha="center", va="center", color="w", fontsize=8)
        axes.set_xticks(range(len(quantized)), [str(b) for b in quantized])
        axes.set_yticks(range(len(compressed)), [f"{g:.3f}" for g in compressed])
        axes.set(xlabel="quantization (bits)", ylabel="γ", title=f"efficiency score PE, ρ = {rho}")
        figure.colorbar(image, ax=axes)
        paths.append(_save(figure, folder / "fig4_pe_heatmap.png"))

        figure, axes = _figure()
        for gamma in compressed:
            points = [(positions[b], _pe(best[(gamma, b)], base, b, rho)) for b in bits if (gamma, b) in best]
            axes.plot(*zip(*points, strict=True), marker="o", label=f"γ = {gamma:.3f}")
        axes.set_xticks(range(len(bits)), [str(b) for b in bits])
        axes.set(xlabel="quantization (bits)", ylabel=f"PE (ρ = {rho})")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
        paths.append(_save(figure, folder / "fig5_pe_vs_bits.png"))

    if curve_bits is None:
        quantizing = [b for b in bits if b < 32]
        curve_bits = 16 if 16 in bits else (max(quantizing) if quantizing else bits[-1])
    for name, key, label in (("fig6_test_accuracy.png", "test_acc", "test accuracy (%)"),
                             ("fig7_train_accuracy.png", "train_acc", "training accuracy (%)")):
        figure, axes = _figure()
        for gamma in gammas:
            run = best.get((gamma, curve_bits))
            if run is not None:
                curve = run["history"][key]
                axes.plot(range(1, len(curve) + 1), [100 * v for v in curve], label=f"γ = {gamma:.3f}")
        axes.set(xlabel="epoch", ylabel=label, title=f"{curve_bits} bits")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
        paths.append(_save(figure, folder / name))
    return paths
