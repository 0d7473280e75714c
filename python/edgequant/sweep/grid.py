"""Sweep points: JSON-able descriptions of quantizer settings, and the paper's default grid.

A point is ``{"method": name, "params": {...}}``: ``name`` is a key of
:data:`edgequant.quantizers.QUANTIZERS` and ``params`` its constructor's keyword arguments, with
one addition: ``{"method": "affine", "params": {"per_channel": true, ...}}`` means one scale per
output channel of each tensor (:class:`edgequant.model.PerChannelAffine`). It is the format of
:meth:`~edgequant.quantizers.Quantizer.spec` and :func:`edgequant.quantizers.from_spec`; :func:`make_quantizer` is the
one place a point becomes a quantizer.
"""

from __future__ import annotations

import json
import numbers

from ..model import PerChannelAffine
from ..quantizers import QUANTIZERS, from_spec
from ..quantizers.registry import FAMILIES, sweep_grid


def _grid_values(method: str, key: str) -> tuple:
    """The distinct values of one parameter over a family's default sweep, in sweep order."""
    values = [tuple(p[k] for k in key) if isinstance(key, tuple) else p[key] for p in sweep_grid(method, 24)]
    return tuple(dict.fromkeys(values))


#: Dead-zone sizes δ of the paper's sweep (declared in cpp/quant/deadzone.cpp).
PAPER_DEADZONE_DELTAS = _grid_values("deadzone", "delta")

#: Minifloat formats (exponent bits, mantissa bits) of the paper's Table 3.5, plus IEEE half
#: (declared in cpp/quant/minifloat.cpp).
PAPER_MINIFLOAT_FORMATS = _grid_values("minifloat", ("exponent_bits", "mantissa_bits"))

#: Methods of the default grid, in the order curves are listed: every registered family that
#: declares sweep points (cpp/quant/registry.cpp's order).
DEFAULT_METHODS = tuple(name for name in FAMILIES if sweep_grid(name, 2))


def default_grid(max_bits: int = 24, methods=None) -> list[dict]:
    """The paper's sweep: every quantizer family at every setting its C++ registration declares.

    - midrise, midtread and μ-law (μ = 255) with ``L = 2^k`` levels, ``k = 2 … max_bits``;
    - dead-zone with δ ∈ {0.1, 0.25, 0.4, 0.7} and the same ``L``;
    - the minifloat formats of Table 3.5 (``mode="paper"``: normal numbers only, top binade
      [1, 2)) and IEEE half (5, 10) in ``mode="ieee"``;
    - affine INT-b per tensor and per output channel, ``b = 2 … min(8, max_bits)``;
    - and any other registered family's points (see ``sweep_grid`` in ``cpp/quant/<name>.cpp``).

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
    return [point(method, **params) for method in _chosen_methods(methods) for params in sweep_grid(method, max_bits)]


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
    """Validate every point before any work (each is built once), dropping duplicates.

    A bad point raises ``ValueError``.
    """
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
