"""The distribution families the fitter knows (SPEC §3), with scipy.stats' parameter names.

The PDFs are the C++ core's (``cpp/fit/families/``); :func:`pdf` evaluates them so that users
and tests can compare with ``scipy.stats``.
"""

from __future__ import annotations

import numpy as np

from .. import _core
from .._validation import real_in

#: Family names in the core's order, each a ``scipy.stats`` distribution name.
FAMILIES: tuple[str, ...] = tuple(_core.fit_family_names())

#: Parameter names per family, in ``scipy.stats`` order (shapes, then loc, scale).
PARAMETERS: dict[str, tuple[str, ...]] = {name: tuple(_core.fit_parameter_names(name)) for name in FAMILIES}

#: Nested families: (nested, nesting, shape name, shape value that reproduces the nested one).
#: On data from the nested family the nesting one fits at least as well (one more parameter),
#: so either may rank first; its fitted shape then sits at the value given. np.inf is a limit
#: (Student-t tends to the Gaussian as df grows; gennorm to uniform as beta grows).
NESTED: tuple[tuple[str, str, str, float], ...] = (
    ("expon", "gamma", "a", 1.0),
    ("laplace", "gennorm", "beta", 1.0),
    ("norm", "gennorm", "beta", 2.0),
    ("cauchy", "t", "df", 1.0),
    ("norm", "t", "df", np.inf),
    ("uniform", "gennorm", "beta", np.inf),
)


def family_name(name) -> str:
    """``name`` if it is a known family, else ValueError/TypeError listing the known ones."""
    if not isinstance(name, str):
        raise TypeError(f"family names are strings, got {name!r}")
    if name not in PARAMETERS:
        raise ValueError(f"unknown distribution family {name!r} (known: {', '.join(FAMILIES)})")
    return name


def parameter_vector(family: str, params: dict) -> list[float]:
    """The keyword parameters of ``family`` as a list in scipy order (loc defaults to 0, scale to 1)."""
    names = PARAMETERS[family_name(family)]
    unknown = set(params) - set(names)
    if unknown:
        raise TypeError(f"{family} has no parameter(s) {sorted(unknown)} (parameters: {', '.join(names)})")
    defaults = {"loc": 0.0, "scale": 1.0}
    values = []
    for name in names:
        if name not in params and name not in defaults:
            raise TypeError(f"{family} needs the shape parameter {name!r}")
        value = real_in(params.get(name, defaults.get(name)), name)
        values.append(value)
    return values


def _evaluate(core_function, family: str, x, params: dict, **extra) -> np.ndarray:
    values = parameter_vector(family, params)
    array = np.asarray(x, dtype=np.float64)
    out = core_function(family, np.ascontiguousarray(array.reshape(-1)), values, **extra)
    return out.reshape(array.shape)


def pdf(family: str, x, **params) -> np.ndarray:
    """The C++ PDF of ``family`` at ``x`` (float64), parameters as in scipy.stats.

    >>> pdf("gennorm", [0.0, 1.0], beta=1.5, loc=0.0, scale=2.0)
    """
    return _evaluate(_core.fit_pdf, family, x, params)


def logpdf(family: str, x, **params) -> np.ndarray:
    """The C++ log-PDF of ``family`` at ``x``."""
    return _evaluate(_core.fit_logpdf, family, x, params)


def cdf(family: str, x, **params) -> np.ndarray:
    """The C++ CDF of ``family`` at ``x`` (the KL criterion's bin probabilities use it)."""
    return _evaluate(_core.fit_cdf, family, x, params, survival=False)


def sf(family: str, x, **params) -> np.ndarray:
    """The C++ survival function 1 − CDF, accurate in the upper tail."""
    return _evaluate(_core.fit_cdf, family, x, params, survival=True)
