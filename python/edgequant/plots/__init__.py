"""Plots (matplotlib; figures are returned, nothing is shown)."""

from .distributions import plot_fits, plot_layer_grid

__all__ = ["plot_fits", "plot_layer_grid"]
