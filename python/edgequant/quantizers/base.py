"""The quantizer interface every family implements.

Conventions (step, clipping, rounding, NaN policy) are written once in ``cpp/quant/convention.h``:
step ``Δ = 2·xmax/L``; values outside ``[-xmax, xmax]`` clip to the outermost level; rounding is
half-to-even in the input's precision; reconstructions are float32; NaN/Inf raise ``ValueError``.
"""

from __future__ import annotations

import numpy as np

from .._validation import float_array, raise_if_non_finite, real_in, symbol_array
from .registry import make_kernels, parameter_names, validated


class Quantizer:
    """A scalar quantizer: ``encode`` maps floats to int32 symbols, ``decode`` maps them back.

    ``q(x)`` (calling the quantizer) is quantize-dequantize in one pass with no temporaries and
    equals ``decode(encode(x))`` bit for bit. Inputs may be float32 or float64 of any shape,
    contiguous or not; outputs have the input's shape.
    """

    #: Short registry name, e.g. ``"midtread"``: the C++ family (quant/registry.h) it fronts.
    name: str = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):
            REGISTERED_CLASSES.setdefault(cls.name, cls)

    def _set_parameters(self, **given) -> None:
        """Check constructor arguments against the family's declared ranges and keep them."""
        for key, value in validated(self.name, given).items():
            setattr(self, key, value)

    def _op_for_encode(self, x: np.ndarray):  # pragma: no cover - abstract
        raise NotImplementedError

    def _op_for_decode(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def encode(self, x) -> np.ndarray:
        """Quantize ``x`` to int32 symbols (same shape)."""
        x = float_array(x)
        op = self._op_for_encode(x)
        out = np.empty(x.shape, dtype=np.int32)
        self._check_non_finite(op.encode(x.reshape(-1), out.reshape(-1)), x)
        return out

    def decode(self, symbols) -> np.ndarray:
        """Reconstruct float32 values from symbols (same shape)."""
        symbols = symbol_array(symbols)
        op = self._op_for_decode()
        out = np.empty(symbols.shape, dtype=np.float32)
        invalid = op.decode(symbols.reshape(-1), out.reshape(-1))
        if invalid:
            raise ValueError(f"symbols contains {invalid} value(s) outside this quantizer's alphabet ({self!r})")
        return out

    def __call__(self, x, out=None) -> np.ndarray:
        """Quantize-dequantize ``x`` in one pass; returns float32 of the same shape.

        ``out``, if given, is a C-contiguous float32 array of ``x``'s shape written in place
        (saves the allocation when quantizing many tensors of one shape); it may be ``x`` itself
        (then NaN/Inf are looked for before anything is written), but must not otherwise overlap
        ``x``.
        """
        x = float_array(x)
        op = self._op_for_encode(x)
        out = output_array(out, x)
        if out is not None and np.may_share_memory(out, x):
            from .. import _core

            self._check_non_finite(_core.tensor_range(x.reshape(-1)).non_finite, x)
        out = np.empty(x.shape, dtype=np.float32) if out is None else out
        self._check_non_finite(op.quantize(x.reshape(-1), out.reshape(-1)), x)
        return out

    def _check_non_finite(self, count: int, x: np.ndarray) -> None:
        """The NaN/Inf policy: refuse them (formats that represent them override this)."""
        raise_if_non_finite(count, x)

    # --- description and state, for results tables and compressed files ---------------------
    def params(self) -> dict:
        """Constructor arguments (JSON-able): ``type(q)(**q.params())`` is an equal quantizer."""
        return {name: getattr(self, name) for name in parameter_names(self.name)}

    def spec(self) -> dict:
        """``{"method": name, "params": {...}}``: what :func:`edgequant.quantizers.from_spec` reads."""
        return {"method": self.name, "params": self.params()}

    def decode_state(self) -> dict:
        """What ``decode`` needs beyond the parameters (e.g. the range ``encode`` resolved), JSON-able."""
        return {}

    def load_decode_state(self, state: dict) -> None:
        """Restore :meth:`decode_state` so that ``decode`` works without encoding first."""
        if state:
            raise ValueError(f"{self!r} has no decode state, got {sorted(state)}")

    def __reduce__(self):
        # Pickle (process pools, Dask) and deepcopy through the spec and the fitted state: the
        # compiled op handles are rebuilt rather than copied.
        return (_rebuild, (type(self), self.params(), self.decode_state()))

    def __repr__(self) -> str:
        """``Name(param=value, ...)`` from :meth:`params`: evaluates back to an equal quantizer."""
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.params().items())
        return f"{type(self).__name__}({arguments})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))


#: name -> the Python class of that family (first definition wins), filled by subclassing.
REGISTERED_CLASSES: dict[str, type[Quantizer]] = {}


def _rebuild(cls, params: dict, state: dict) -> Quantizer:
    quantizer = cls(**params)
    if state:
        quantizer.load_decode_state(state)
    return quantizer


def output_array(out, x: np.ndarray) -> np.ndarray | None:
    """``out`` after checking that it can receive the quantize-dequantized ``x`` (None stays None).

    ``out`` must be a writeable C-contiguous float32 array of ``x``'s shape that is either ``x``'s
    own memory (in place) or disjoint from it: a partial overlap would read inputs the kernel has
    already overwritten.
    """
    if out is None:
        return None
    if not isinstance(out, np.ndarray) or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise TypeError("out must be a C-contiguous float32 numpy array")
    if out.shape != x.shape:
        raise ValueError(f"out has shape {out.shape}, expected {x.shape}")
    if not out.flags.writeable:
        raise ValueError("out is read-only")
    # Both are C-contiguous, so their memory ranges overlap exactly when the bounds do.
    in_place = out.dtype == x.dtype and out.__array_interface__["data"][0] == x.__array_interface__["data"][0]
    if np.may_share_memory(out, x) and not in_place:
        raise ValueError("out partly overlaps x: pass out=x to work in place, or a separate array")
    return out


def resolve_xmax(xmax, name: str = "xmax"):
    """Validate ``xmax``: a finite positive number, ``"max"`` (max|x| per tensor),
    ``"percentile:P"`` or ``"mse"`` (see :func:`edgequant.ranges.check_range_spec`)."""
    from ..ranges import check_range_spec

    return check_range_spec(xmax, name)


def data_xmax(x: np.ndarray, spec="max", levels: int = 255) -> float:
    """xmax of a tensor by a data-dependent ``spec`` (NaN/Inf refused; an all-zero tensor gives 1.0);
    see :func:`edgequant.ranges.fit_xmax`."""
    from ..ranges import fit_xmax

    return fit_xmax(x, spec, levels)


class RangeQuantizer(Quantizer):
    """A quantizer over ``[-xmax, xmax]``; ``xmax="max"`` takes max|x| of each encoded tensor,
    ``"percentile:P"`` the P-th percentile of ``|x|``, ``"mse"`` the threshold whose uniform grid of
    ``levels`` steps fits best (:mod:`edgequant.ranges`).

    With a data-dependent ``xmax`` the range seen by the last ``encode``/``__call__`` is kept in
    ``xmax_`` so that ``decode`` can reconstruct; decoding before any encode raises.
    """

    def __init__(self, xmax):
        self.xmax = resolve_xmax(xmax)
        self.xmax_ = None if isinstance(self.xmax, str) else self.xmax

    def _make_op(self, xmax: float):
        """The kernels for a resolved range: the family's parameters with ``xmax`` a number."""
        return make_kernels(self.name, {**self.params(), "xmax": xmax})

    def decode_state(self) -> dict:
        return {"xmax": self.xmax_} if isinstance(self.xmax, str) and self.xmax_ is not None else {}

    def load_decode_state(self, state: dict) -> None:
        if not isinstance(self.xmax, str):
            return super().load_decode_state(state)
        self.xmax_ = real_in(state.get("xmax"), "xmax", low=0.0, low_open=True)

    def _op_for_encode(self, x):
        if isinstance(self.xmax, str):
            self.xmax_ = data_xmax(x, self.xmax, getattr(self, "levels", 255))
        return self._make_op(self.xmax_)

    def _op_for_decode(self):
        if self.xmax_ is None:
            raise ValueError(f"{self!r}: xmax={self.xmax!r} is resolved by encode(); call encode first or pass xmax")
        return self._make_op(self.xmax_)

    @property
    def step(self) -> float:
        """Quantization step Δ = 2·xmax/L (after the range is known)."""
        return self._op_for_decode().attributes["step"]
