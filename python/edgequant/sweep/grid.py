"""Sweep points: JSON-able descriptions of quantizer settings, and the paper's default grid.

A point is ``{"method": name, "params": {...}}``: ``name`` is a key of
:data:`edgequant.quantizers.QUANTIZERS` and ``params`` its constructor's keyword arguments, with
one addition: ``{"method": "affine", "params": {"per_channel": true, ...}}`` means one scale per
output channel of each tensor (:class:`edgequant.model.PerChannelAffine`). It is the format of
:meth:`Quantizer.spec` and :func:`edgequant.quantizers.from_spec`; :func:`make_quantizer` is the
one place a point becomes a quantizer.
"""

from __future__ import annotations

import json
import numbers

from ..model import PerChannelAffine
from ..quantizers import QUANTIZERS, from_spec

#: Dead-zone sizes δ of the paper's sweep.
PAPER_DEADZONE_DELTAS = (0.1, 0.25, 0.4, 0.7)

#: Minifloat formats (exponent bits, mantissa bits) of the paper's Table 3.5, plus IEEE half.
PAPER_MINIFLOAT_FORMATS = (
    (4, 7), (3, 6), (3, 4), (4, 3), (3, 3), (2, 4), (2, 3), (1, 4), (2, 2), (1, 3), (1, 2), (0, 3),
    (5, 10),
)  # fmt: skip

#: IEEE half precision (exponent, mantissa bits), swept in IEEE mode.
IEEE_HALF = (5, 10)

#: Methods of the default grid, in the order curves are listed.
DEFAULT_METHODS = ("midrise", "midtread", "mulaw", "deadzone", "minifloat", "affine")

#: μ of the μ-law points (the telephony value).
DEFAULT_MU = 255.0


def default_grid(max_bits: int = 24, methods=None) -> list[dict]:
    """The paper's sweep: every quantizer family at every setting.

    - midrise, midtread and μ-law (μ = 255) with ``L = 2^k`` levels, ``k = 2 … max_bits``;
    - dead-zone with δ ∈ {0.1, 0.25, 0.4, 0.7} and the same ``L``;
    - the minifloat formats of Table 3.5 (``mode="paper"``: normal numbers only, top binade
      [1, 2)) and IEEE half (5, 10) in ``mode="ieee"``; skipped with a warning while no
      ``"minifloat"`` quantizer is registered;
    - affine INT-b per tensor and per output channel, ``b = 2 … min(8, max_bits)``.

    Range quantizers use ``xmax="max"``: each tensor is quantized over its own ``[-max|w|,
    max|w|]`` (the paper's weights are not confined to [-1, 1]).

    Parameters
    ----------
    max_bits : int, default 24
        Largest ``k`` (``L = 2^k``), 2–24.
    methods : iterable of str, optional
        Keep only these methods (see :data:`DEFAULT_METHODS`).

    Returns
    -------
    list of dict
        Points ``{"method": ..., "params": {...}}``.
    """
    if isinstance(max_bits, bool) or not isinstance(max_bits, numbers.Integral):
        raise TypeError(f"max_bits must be an integer, got {max_bits!r}")
    if not 2 <= max_bits <= 24:
        raise ValueError(f"max_bits must be in [2, 24], got {max_bits}")
    chosen = _chosen_methods(methods)
    levels = [2**k for k in range(2, max_bits + 1)]
    grid = []
    for method in chosen:
        if method in ("midrise", "midtread"):
            grid += [point(method, levels=L, xmax="max") for L in levels]
        elif method == "mulaw":
            grid += [point(method, levels=L, mu=DEFAULT_MU, xmax="max") for L in levels]
        elif method == "deadzone":
            grid += [point(method, levels=L, delta=d, xmax="max") for d in PAPER_DEADZONE_DELTAS for L in levels]
        elif method == "minifloat":
            grid += [
                point(method, exponent_bits=e, mantissa_bits=m, mode=_minifloat_mode(e, m))
                for e, m in PAPER_MINIFLOAT_FORMATS
            ]
        elif method == "affine":
            for per_channel in (False, True):
                grid += [point(method, bits=b, per_channel=per_channel) for b in range(2, min(8, max_bits) + 1)]
    return grid


def _minifloat_mode(exponent_bits: int, mantissa_bits: int) -> str:
    """IEEE half keeps IEEE semantics; the Table 3.5 formats use the paper's (normals only)."""
    return "ieee" if (exponent_bits, mantissa_bits) == IEEE_HALF else "paper"


def _chosen_methods(methods) -> tuple[str, ...]:
    if methods is None:
        return DEFAULT_METHODS
    if isinstance(methods, str):
        methods = (methods,)
    methods = tuple(methods)
    unknown = [m for m in methods if m not in DEFAULT_METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; the default grid has {', '.join(DEFAULT_METHODS)}")
    return tuple(m for m in DEFAULT_METHODS if m in methods)


def point(method: str, **params) -> dict:
    """A sweep point ``{"method": method, "params": params}``."""
    return {"method": method, "params": params}


def point_key(spec: dict) -> str:
    """Canonical JSON of a point (sorted keys): its identity in the results database."""
    return json.dumps({"method": spec["method"], "params": spec.get("params", {})}, sort_keys=True)


def curve_label(spec: dict) -> str:
    """The curve a point belongs to in plots and summaries: one per method, dead-zone one per δ,
    affine per tensor and per channel apart."""
    method, params = spec["method"], spec.get("params", {})
    if method == "deadzone":
        return f"deadzone δ={params.get('delta')}"
    if method == "affine":
        return "affine per-channel" if params.get("per_channel") else "affine per-tensor"
    return method


def make_quantizer(spec: dict):
    """Build the quantizer a point describes.

    Parameters
    ----------
    spec : dict
        ``{"method": name, "params": {...}}`` (see the module docstring).

    Returns
    -------
    Quantizer or PerChannelAffine

    Raises
    ------
    ValueError
        If the point is malformed, its method is not registered, or its parameters are refused
        by the quantizer (the message names the point).
    """
    method, params = _parts(spec)
    if method == "affine" and params.get("per_channel"):
        params = {k: v for k, v in params.items() if k != "per_channel"}
        return _construct(PerChannelAffine, params, spec)
    if method == "affine":
        params = {k: v for k, v in params.items() if k != "per_channel"}
    if method not in QUANTIZERS:
        known = ", ".join(QUANTIZERS)
        raise ValueError(f"unknown method {method!r} in point {point_key(spec)}; registered: {known}")
    return _construct(lambda **kwargs: from_spec({"method": method, "params": kwargs}), params, spec)


def _parts(spec) -> tuple[str, dict]:
    if not isinstance(spec, dict) or not isinstance(spec.get("method"), str):
        raise ValueError(f'a sweep point must be a dict {{"method": name, "params": {{...}}}}, got {spec!r}')
    params = spec.get("params", {})
    if not isinstance(params, dict):
        raise ValueError(f"params of point {spec!r} must be a dict")
    extra = set(spec) - {"method", "params"}
    if extra:
        raise ValueError(f"point {spec!r} has unknown key(s) {sorted(extra)}")
    try:
        json.dumps(params, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"params of point {spec!r} must be JSON-able: {error}") from error
    return spec["method"], dict(params)


def _construct(cls, params: dict, spec: dict):
    try:
        return cls(**params)
    except (TypeError, ValueError) as error:
        raise ValueError(f"point {point_key(spec)} is invalid: {error}") from error


def check_grid(grid) -> list[dict]:
    """Validate every point before any work (each is built once), dropping duplicates; a bad
    point raises ``ValueError``."""
    if isinstance(grid, dict):
        grid = [grid]
    checked, seen = [], set()
    for spec in grid:
        make_quantizer(spec)
        key = point_key(spec)
        if key not in seen:
            seen.add(key)
            checked.append(json.loads(key))
    if not checked:
        raise ValueError("the grid has no point to run")
    return checked
