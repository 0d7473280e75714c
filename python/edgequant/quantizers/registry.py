"""The quantizer registry as Python sees it: the families declared once in C++.

Each family (``cpp/quant/<name>.cpp``, listed in ``cpp/quant/registry.cpp``) declares its name,
its parameters with their kinds and valid ranges, its default sweep points and its kernels. This
module checks constructor arguments against those declarations and builds the kernels;
:data:`edgequant.quantizers.QUANTIZERS`, the sweep grid, the ``edgequant compress`` flags and the
registry-wide tests all read :data:`FAMILIES`. The Python class of family ``name`` lives in
``edgequant/quantizers/<name>.py``.
"""

from __future__ import annotations

import math

from .. import _core
from .._validation import integer_in, real_in

#: name -> the C++ family (``_core.QuantizerFamily``), in the order sweeps list their curves.
FAMILIES: dict[str, _core.QuantizerFamily] = {family.name: family for family in _core.quantizer_families()}

# Each family's parameters, converted from C++ once (quantizers ask for them on every encode).
_PARAMETERS = {name: {parameter.name: parameter for parameter in family.parameters}
               for name, family in FAMILIES.items()}
_NAMES = {name: tuple(parameters) for name, parameters in _PARAMETERS.items()}


def family(name: str) -> _core.QuantizerFamily:
    """The family called ``name``; ``ValueError`` listing the known names otherwise."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown quantization method {name!r}; known: {sorted(FAMILIES)}") from None


def parameter_names(name: str) -> tuple[str, ...]:
    """The constructor parameters of family ``name``, in declaration order."""
    names = _NAMES.get(name)
    if names is None:
        family(name)  # raises ValueError listing the known names
    return names


def check_parameter(parameter: _core.QuantizerParameter, value):
    """``value`` checked against the parameter's declared kind and range (and normalised).

    ``TypeError`` for a value of the wrong type, ``ValueError`` for one outside the range; both
    name the parameter.
    """
    if value is None and parameter.nullable:
        return None
    name, kind = parameter.name, parameter.kind
    if kind == "integer":
        return integer_in(value, int(parameter.low), int(parameter.high), name)
    if kind == "real":
        high = None if math.isinf(parameter.high) else parameter.high
        return real_in(value, name, low=parameter.low, high=high, low_open=parameter.low_open,
                       high_open=parameter.high_open)
    if kind == "boolean":
        return bool(value)
    if kind == "choice":
        if value not in parameter.choices:
            raise ValueError(f"{name} must be one of {tuple(parameter.choices)}, got {value!r}")
        return value
    if kind == "range":
        from .base import resolve_xmax

        return resolve_xmax(value, name)
    raise AssertionError(f"unknown parameter kind {kind!r}")  # pragma: no cover - C++ declares the kinds


def validated(name: str, given: dict) -> dict:
    """``given`` (a subset of family ``name``'s parameters) checked one by one, in declaration order."""
    family(name)
    declared = _PARAMETERS[name]
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise TypeError(f"{name} takes no parameter(s) {unknown}")
    return {key: check_parameter(declared[key], given[key]) for key in declared if key in given}


def make_kernels(name: str, values: dict) -> _core.QuantizerKernels:
    """The C++ kernels of family ``name`` from its kernel values (None values are left out)."""
    return _core.make_quantizer_kernels(name, [(key, value) for key, value in values.items() if value is not None])


def examples(name: str) -> list[dict]:
    """Constructor arguments the registry-wide tests run for family ``name``."""
    return [dict(example) for example in family(name).examples]


def sweep_grid(name: str, max_bits: int) -> list[dict]:
    """Family ``name``'s default sweep points' parameters for ``L = 2^k``, ``k = 2 … max_bits``."""
    return [dict(point) for point in family(name).sweep_grid(max_bits)]
