"""Parametrize a test over quantizers of the registry and the sweep grid, with readable ids.

>>> from edgequant.testing import eq_quantizers
>>> @eq_quantizers(methods=["deadzone"], levels=[16, 256], deltas=[0.7])
... def test_deadzone(quantizer): ...
# test ids: test_deadzone[deadzone-L16-d0.7], test_deadzone[deadzone-L256-d0.7]
"""

from __future__ import annotations

import math
import numbers

from ..quantizers import QUANTIZERS
from ..sweep.grid import DEFAULT_METHODS, check_grid, default_grid, make_quantizer

#: Short forms of parameter names in test ids (``deadzone-L16-d0.7``, ``minifloat-e4m3``).
_ID_NAMES = {"levels": "L", "delta": "d", "mu": "mu", "exponent_bits": "e", "mantissa_bits": "m", "bits": "int"}

#: Parameter values the default grid always uses, left out of ids.
_ID_DEFAULTS = {"xmax": "max", "mu": 255.0, "per_channel": False, "symmetric": True, "signed": True}


def eq_quantizers(
    methods=None,
    levels=None,
    deltas=None,
    max_bits: int = 24,
    points=None,
    argname: str = "quantizer",
):
    """A ``pytest.mark.parametrize`` over quantizers: the sweep grid, filtered, or given points.

    Parameters
    ----------
    methods : str or iterable of str, optional
        Families of the default grid (:data:`edgequant.sweep.grid.DEFAULT_METHODS`: midrise,
        midtread, mulaw, deadzone, minifloat, affine); default all.
    levels : iterable of int, optional
        Keep points with these numbers of levels ``L``. Affine INT-b counts as ``2^b`` levels
        and a minifloat with ``e`` exponent and ``m`` mantissa bits as ``2^(1+e+m)`` codes.
    deltas : iterable of float, optional
        Keep dead-zone points with these δ (other families are unaffected).
    max_bits : int, default 24
        Largest ``k`` of the grid's ``L = 2^k``.
    points : iterable of dict, optional
        Explicit points ``{"method": name, "params": {...}}`` of any registered quantizer
        (:data:`edgequant.quantizers.QUANTIZERS`), used instead of the grid.
    argname : str, default ``"quantizer"``
        The test argument that receives each quantizer (a
        :class:`~edgequant.quantizers.Quantizer`, or a :class:`~edgequant.model.PerChannelAffine`
        for per-channel affine points; ``.spec()`` gives the point back).

    Returns
    -------
    pytest.MarkDecorator

    Raises
    ------
    ValueError
        If a method is unknown, a filter leaves no point, or a point is invalid (before any test
        runs, at collection).
    """
    import pytest

    if points is not None:
        if methods is not None or levels is not None or deltas is not None:
            raise ValueError("give either points or the grid filters (methods, levels, deltas), not both")
        specs = check_grid(list(points))
    else:
        _check_methods(methods)
        specs = default_grid(max_bits=max_bits, methods=methods)
        specs = [spec for spec in specs if spec["method"] in QUANTIZERS or spec["method"] == "affine"]
        if levels is not None:
            wanted = {_positive_int(value, "levels") for value in _as_list(levels, "levels")}
            specs = [spec for spec in specs if point_levels(spec) in wanted]
        if deltas is not None:
            wanted_deltas = [float(value) for value in _as_list(deltas, "deltas")]
            specs = [
                spec for spec in specs
                if spec["method"] != "deadzone" or any(math.isclose(spec["params"]["delta"], d) for d in wanted_deltas)
            ]  # fmt: skip
        if not specs:
            raise ValueError(
                f"no quantizer of the grid matches methods={methods!r}, levels={levels!r}, deltas={deltas!r} "
                f"(max_bits={max_bits})"
            )
    quantizers = [make_quantizer(spec) for spec in specs]
    return pytest.mark.parametrize(argname, quantizers, ids=[quantizer_id(spec) for spec in specs])


def quantizer_id(spec: dict) -> str:
    """A short test id for a point: ``deadzone-L256-d0.7``, ``affine-int8-per-channel``, ``minifloat-e4m3``."""
    method, params = spec["method"], dict(spec.get("params", {}))
    parts = [method]
    if "exponent_bits" in params:
        parts.append(f"e{params.pop('exponent_bits')}m{params.pop('mantissa_bits', '?')}")
    for name, value in params.items():
        if _ID_DEFAULTS.get(name, object()) == value or (name == "mode" and value == "paper"):
            continue
        if name == "per_channel":
            parts.append("per-channel")
        elif name == "mode":
            parts.append(str(value))
        else:
            parts.append(f"{_ID_NAMES.get(name, name)}{_format_value(value)}")
    return "-".join(parts)


def point_levels(spec: dict) -> int | None:
    """How many codes a point has: ``levels``; ``2^bits`` for affine; ``2^(1+e+m)`` for minifloat."""
    params = spec.get("params", {})
    if "levels" in params:
        return int(params["levels"])
    if "bits" in params:
        return 2 ** int(params["bits"])
    if "exponent_bits" in params:
        return 2 ** (1 + int(params["exponent_bits"]) + int(params["mantissa_bits"]))
    return None


def _format_value(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _check_methods(methods) -> None:
    if methods is None:
        return
    for method in [methods] if isinstance(methods, str) else list(methods):
        if method not in DEFAULT_METHODS:
            hint = " (not in the default grid: pass it through points=)" if method in QUANTIZERS else ""
            raise ValueError(f"unknown method {method!r}{hint}; the grid has {', '.join(DEFAULT_METHODS)}")


def _as_list(values, name: str) -> list:
    if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a list of numbers, got {values!r}")
    return list(values)


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must hold integers >= 1, got {value!r}")
    return int(value)
