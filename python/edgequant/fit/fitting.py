"""Which known distribution do a network's weights follow? (SPEC §3)"""

from __future__ import annotations

import numpy as np

from .. import _core
from .._validation import float_array, integer_in, raise_if_non_finite, real_in
from .families import FAMILIES, PARAMETERS, family_name
from .report import FamilyFit, FitReport

#: How a family's fit is scored against the histogram.
CRITERIA = ("sse", "kl")


def fit_distributions(x, families=None, criteria=("sse", "kl"), bins="fd", center=True, mass=0.99) -> FitReport:
    """Fit distribution families to weights and rank them, as in the paper (SPEC §3).

    One parallel pass over ``x`` builds a histogram (the PDF estimate); each family is then
    fitted to it by minimising each criterion (Nelder–Mead in log-scale / log-shape
    coordinates from moment or closed-form starts), never touching ``x`` again. 25 M float32
    weights take about 0.4 s on 2 cores for all families and both criteria.

    Criteria (details in ``cpp/fit/criteria.h``):

    * ``"sse"``: Σ (h_i − f(c_i))², h_i = count_i / (n·width), f at the bin centres.
    * ``"kl"``: KL(P‖Q) over the bins plus a tail cell on each side of the range,
      P_i = count_i / n, Q_i the model's CDF difference over the cell (exact, not pdf·width).
      Empty bins contribute 0; model probabilities are floored at 1e-300 so KL stays finite.

    Each fit also reports the log-likelihood of the data — computed from a fine histogram
    (≥ 2^16 bins, each value at its bin centre; values outside the range exactly), error
    second order in the fine width — with AIC and BIC. Bounded families (uniform, expon,
    gamma, alpha) keep every weight inside their support, as the MLE does.

    Parameters
    ----------
    x : array_like of float32/float64
        The weights (any shape; flattened). NaN/Inf are refused.
    families : iterable of str, optional
        Subset of :data:`FAMILIES` (scipy.stats names); all by default.
    criteria : iterable of {"sse", "kl"}
        Criteria to fit (and rank) by.
    bins : "fd" or int
        Number of histogram bins, or "fd" for Freedman–Diaconis (width 2·IQR·n^(-1/3), at
        most 100000 bins; Scott's rule if the IQR is 0).
    center : bool
        Centre the range on the mean (mean ± the ``mass`` quantile of ``|x − mean|``, the
        paper's choice); otherwise the central quantiles (1 − mass)/2 .. (1 + mass)/2.
    mass : float in (0, 1]
        Fraction of the weights inside the histogram's range (quantiles from a fixed
        2^18-value sample, so up to about ±2e-4).

    Returns
    -------
    FitReport
        ``ranking(criterion)``, ``best(criterion)``, ``recommendation()``, ``to_dict()``,
        ``to_pandas()``, and a readable ``str()`` table.
    """
    array = float_array(x, "x").reshape(-1)
    names = _family_list(families)
    criteria = _criteria_list(criteria)
    bin_count = _bins(bins)
    if not isinstance(center, (bool, np.bool_)):
        raise TypeError(f"center must be a bool, got {center!r}")
    mass = real_in(mass, "mass", low=0.0, high=1.0, low_open=True)

    histogram = _core.fit_histogram(array, bin_count, bool(center), mass)
    summary = histogram.summary
    raise_if_non_finite(summary["non_finite"], array)
    results = _core.fit_families(histogram, list(names), list(criteria))

    fits: dict[str, dict[str, FamilyFit]] = {criterion: {} for criterion in criteria}
    for result in results:
        family = result["family"]
        fits[result["criterion"]][family] = FamilyFit(
            family=family, criterion=result["criterion"],
            params=dict(zip(PARAMETERS[family], result["params"], strict=True)),
            sse=result["sse"], kl=result["kl"], loglik=result["loglik"], aic=result["aic"],
            bic=result["bic"], evaluations=result["evaluations"],
        )
    edges = histogram.edges
    counts = histogram.counts
    histogram_info = {
        "edges": edges, "counts": counts,
        "density": counts / (summary["count"] * np.diff(edges)),
        "below": histogram.below, "above": histogram.above,
    }
    options = {"bins": bins, "center": bool(center), "mass": mass}
    return FitReport(fits=fits, histogram=histogram_info, summary=summary, options=options)


def _family_list(families) -> tuple[str, ...]:
    if families is None:
        return FAMILIES
    if isinstance(families, str):
        families = (families,)
    names = tuple(dict.fromkeys(family_name(name) for name in families))
    if not names:
        raise ValueError("families is empty")
    return names


def _criteria_list(criteria) -> tuple[str, ...]:
    if isinstance(criteria, str):
        criteria = (criteria,)
    criteria = tuple(dict.fromkeys(criteria))
    if not criteria:
        raise ValueError("criteria is empty")
    for criterion in criteria:
        if criterion not in CRITERIA:
            raise ValueError(f"criteria must be among {CRITERIA}, got {criterion!r}")
    return criteria


def _bins(bins) -> int:
    if isinstance(bins, str):
        if bins != "fd":
            raise ValueError(f"bins must be 'fd' or a positive integer, got {bins!r}")
        return 0
    return integer_in(bins, 1, 100_000, "bins")
