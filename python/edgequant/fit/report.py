"""The result of :func:`edgequant.fit.fit_distributions`: per-family fits, rankings, export."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: Criteria a report can rank by. "sse" and "kl" rank the fits that minimised them; "aic",
#: "bic" and "loglik" rank the KL fits when there are any (minimising KL is binned maximum
#: likelihood, so those parameters are the ones closest to the MLE), else the SSE fits.
RANKING_CRITERIA = ("sse", "kl", "aic", "bic", "loglik")


@dataclass(frozen=True)
class FamilyFit:
    """One family fitted by one criterion. ``params`` uses scipy.stats names.

    ``sse`` and ``kl`` are both evaluated at ``params``, whichever was minimised;
    ``loglik`` is the log-likelihood of the data (not of bin centres), ``aic = 2k − 2·loglik``,
    ``bic = k·ln n − 2·loglik``. ``loglik`` is −inf if a weight lies outside the support.
    """

    family: str
    criterion: str
    params: dict[str, float]
    sse: float
    kl: float
    loglik: float
    aic: float
    bic: float
    evaluations: int = 0

    def score(self, criterion: str) -> float:
        """The value ranked by ``criterion`` (lower is better; loglik is negated)."""
        return -self.loglik if criterion == "loglik" else getattr(self, criterion)

    def to_dict(self) -> dict:
        def clean(value):  # JSON has no inf/nan
            return None if isinstance(value, float) and not math.isfinite(value) else value

        return {
            "family": self.family, "criterion": self.criterion, "params": dict(self.params),
            "sse": clean(self.sse), "kl": clean(self.kl), "loglik": clean(self.loglik),
            "aic": clean(self.aic), "bic": clean(self.bic), "evaluations": self.evaluations,
        }


@dataclass(frozen=True)
class FitReport:
    """Every fit of one weight array, with the histogram they were judged against.

    ``fits[criterion][family]`` is a :class:`FamilyFit`; ``histogram`` holds ``edges``,
    ``density`` (count / (n·width), the paper's PDF estimate), ``below``/``above`` (weights
    outside the range) and the options used.
    """

    fits: dict[str, dict[str, FamilyFit]]
    histogram: dict
    summary: dict
    options: dict = field(default_factory=dict)

    @property
    def criteria(self) -> tuple[str, ...]:
        return tuple(self.fits)

    def _fits_for(self, criterion: str) -> dict[str, FamilyFit]:
        if criterion not in RANKING_CRITERIA:
            raise ValueError(f"criterion must be one of {RANKING_CRITERIA}, got {criterion!r}")
        if criterion in ("sse", "kl"):
            if criterion not in self.fits:
                raise ValueError(f"no fits by {criterion!r}: this report has {self.criteria}")
            return self.fits[criterion]
        return self.fits["kl"] if "kl" in self.fits else self.fits["sse"]

    def ranking(self, criterion: str = "sse") -> list[FamilyFit]:
        """Fits ranked best first by ``criterion`` (see :data:`RANKING_CRITERIA`)."""
        fits = self._fits_for(criterion).values()
        return sorted(fits, key=lambda fit: (np.nan_to_num(fit.score(criterion), nan=np.inf), fit.family))

    def best(self, criterion: str = "sse") -> FamilyFit:
        """The best fit by ``criterion``."""
        return self.ranking(criterion)[0]

    def recommendation(self, criterion: str = "sse") -> str:
        """Which quantizer suits the best-fitting family (Sullivan 1996 for Laplacian sources)."""
        return recommend(self.best(criterion), criterion)

    def to_dict(self) -> dict:
        """JSON-ready: fits, rankings (family names, best first), histogram and summary."""
        return {
            "fits": {c: {f: fit.to_dict() for f, fit in fits.items()} for c, fits in self.fits.items()},
            "ranking": {c: [fit.family for fit in self.ranking(c)] for c in self.criteria},
            "histogram": {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.histogram.items()},
            "summary": dict(self.summary),
            "options": dict(self.options),
            "recommendation": self.recommendation(self.criteria[0]),
        }

    def to_pandas(self):
        """One row per (criterion, family) with its rank; needs pandas (imported here)."""
        try:
            import pandas as pd
        except ImportError as error:  # pragma: no cover - pandas is a test dependency
            raise ImportError("FitReport.to_pandas needs pandas: pip install pandas") from error
        rows = []
        for criterion in self.criteria:
            for rank, fit in enumerate(self.ranking(criterion), start=1):
                row = fit.to_dict()
                row["rank"] = rank
                rows.append(row)
        columns = ["criterion", "rank", "family", "params", "sse", "kl", "loglik", "aic", "bic", "evaluations"]
        return pd.DataFrame(rows, columns=columns)

    def __str__(self) -> str:
        lines = [f"Distribution fits of {self.summary['count']:,} weights "
                 f"({len(self.histogram['density'])} bins over [{self.histogram['edges'][0]:.4g}, "
                 f"{self.histogram['edges'][-1]:.4g}])"]
        for criterion in self.criteria:
            lines.append(f"\nranked by {criterion.upper()} (each family fitted by minimising {criterion.upper()}):")
            lines.append(f"  {'#':>2} {'family':<9} {'sse':>11} {'kl':>11} {'aic':>14}  params")
            for rank, fit in enumerate(self.ranking(criterion), start=1):
                params = ", ".join(f"{k}={v:.4g}" for k, v in fit.params.items())
                lines.append(f"  {rank:>2} {fit.family:<9} {fit.sse:>11.4g} {fit.kl:>11.4g} {fit.aic:>14.7g}  {params}")
        lines.append(f"\nrecommendation: {self.recommendation(self.criteria[0])}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        best = ", ".join(f"{c}: {self.best(c).family}" for c in self.criteria)
        return f"FitReport(n={self.summary['count']}, best=({best}))"


def recommend(fit: FamilyFit, criterion: str = "sse") -> str:
    """The quantizer suited to the shape of ``fit``'s family."""
    family, p = fit.family, fit.params
    laplace_like = (
        "Laplace-like → dead-zone quantizer (Sullivan 1996: the optimal entropy-constrained "
        "scalar quantizer for a Laplacian source is uniform with a dead zone)"
    )
    gaussian_like = "Gaussian-like → uniform (midtread) quantizer"
    heavy = "heavy-tailed → μ-law or minifloat quantizer (resolution near 0, range for the tails)"
    one_sided = "one-sided → affine quantizer with a zero point (asymmetric range)"
    if family in ("laplace", "logistic"):
        verdict = laplace_like
    elif family == "gennorm":
        beta = p["beta"]
        verdict = heavy if beta < 0.7 else laplace_like if beta < 1.5 else gaussian_like
    elif family == "t":
        verdict = heavy if p["df"] < 10 else gaussian_like
    elif family in ("norm", "uniform"):
        verdict = gaussian_like
    elif family == "cauchy":
        verdict = heavy
    else:  # expon, gamma, alpha
        verdict = one_sided
    return f"{family} fits best by {criterion.upper()}: {verdict}"
