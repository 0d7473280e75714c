"""Weight-distribution fitting (SPEC §3): which known distribution do the weights follow?

>>> from edgequant.fit import fit_distributions
>>> report = fit_distributions(weights)          # all families, ranked by SSE and by KL
>>> print(report); report.best("kl"); report.recommendation()
"""

from .families import FAMILIES, NESTED, PARAMETERS, cdf, logpdf, pdf, sf
from .fitting import CRITERIA, fit_distributions
from .report import RANKING_CRITERIA, FamilyFit, FitReport

__all__ = [
    "CRITERIA", "FAMILIES", "NESTED", "PARAMETERS", "RANKING_CRITERIA", "FamilyFit", "FitReport",
    "cdf", "fit_distributions", "logpdf", "pdf", "sf",
]
