"""Range strategies: how observed values become a quantization range, one concept for weights and
activations (the C++ core's ``quant/range_observer.h``; fitting a range is not quantizing).

A :class:`RangeObserver` takes values batch by batch (``observe``) into a streaming histogram —
nothing is kept whole — and ``range(method)`` turns them into ``(lo, hi)``, which always holds 0:

- ``"minmax"``: the observed minimum and maximum;
- ``"percentile"``: the ``100 - p`` and ``p`` percentiles (numpy's linear interpolation), within
  one histogram bin (``bin_width``);
- ``"entropy"``: TensorRT's KL-divergence threshold on 2048 bins of ``|x|``, bounded so that it
  never clips more than :data:`ENTROPY_MAX_CLIPPED` of the non-zero values. TensorRT's search
  alone picked 12-25 % of a detector head's range, clipping 0.1-0.8 % of its values (the rare
  strong activations that are the detections); ONNX Runtime's defaults (128 bins, 128 quantized
  bins) try only the full range. The bound keeps the KL choice where the tail is negligible and
  otherwise the smallest range that clips at most that fraction;
- ``"mse"``: of 64 thresholds ``t`` in ``[max|x|/16, max|x|]``, the one whose grid has the
  smallest squared error over the values (each histogram bin's values taken as evenly spread).

``symmetric=True`` gives ``(-t, t)`` from the magnitudes ``|x|`` (weights); otherwise the range
is asymmetric (activations, the engine's u8). ``levels`` is the grid of ``mse`` and ``entropy``:
asymmetric, the unsigned affine format with ``qmax = levels`` (``affine_params_from_range``);
symmetric, the points ``k·2t/levels`` for ``|k| <= levels/2`` (``Δ = 2·xmax/L``).

NaN and Inf are skipped and counted in ``non_finite``; weight ranges refuse them.

For weight quantizers, a range is written as an ``xmax`` spec (:func:`check_range_spec`):
``"max"``, ``"percentile:99.99"``, ``"mse"`` or a positive number.
"""

from __future__ import annotations

import numbers
import threading

import numpy as np

from . import _core
from ._validation import float_array, raise_if_non_finite

__all__ = ["ENTROPY_MAX_CLIPPED", "METHODS", "RangeObserver", "check_range_spec", "fit_xmax", "range_reference"]

#: The range strategies of :class:`~edgequant.ranges.RangeObserver` (and of the engine's static calibration).
METHODS = ("minmax", "percentile", "entropy", "mse")
#: The largest fraction of the non-zero values an ``entropy`` range may clip.
ENTROPY_MAX_CLIPPED: float = _core.ENTROPY_MAX_CLIPPED


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")


class RangeObserver:
    """Observes values batch by batch and turns them into a range by a strategy (module docstring).

    Parameters
    ----------
    histogram : bool
        Keep the histogram (16 thousand bins, 128 KiB) that every method but ``minmax`` needs.
    """

    def __init__(self, histogram: bool = True):
        self._native = _core.RangeObserver(bool(histogram))
        # observe() runs without the GIL and may re-bin the histogram: calls on one observer from
        # several threads take turns (different observers still run in parallel)
        self._lock = threading.Lock()

    def observe(self, x) -> None:
        """Adds the values of ``x`` (any shape, float16/32/64; may be empty)."""
        values = float_array(x, allow_empty=True).reshape(-1)
        with self._lock:
            self._native.observe(values)

    def range(self, method: str = "minmax", percentile: float = 99.99, symmetric: bool = False,
              levels: int = 255) -> tuple[float, float]:
        """``(lo, hi)`` with ``lo <= 0 <= hi`` by ``method``; ``(0, 0)`` before any finite value."""
        _check_method(method)
        with self._lock:
            return self._native.range(method, float(percentile), bool(symmetric), int(levels))

    @property
    def count(self) -> int:
        """Finite values observed."""
        return self._native.count

    @property
    def non_finite(self) -> int:
        """NaN / Inf values observed (and skipped)."""
        return self._native.non_finite

    @property
    def min(self) -> float:
        """The smallest finite value, or 0 if larger (ranges hold 0)."""
        return self._native.min

    @property
    def max(self) -> float:
        """The largest finite value, or 0 if smaller."""
        return self._native.max

    @property
    def bin_width(self) -> float:
        """The histogram's bin width: the resolution of percentile and of the searches."""
        return self._native.bin_width


def range_reference(x, method: str = "minmax", percentile: float = 99.99, symmetric: bool = False,
                    levels: int = 255) -> tuple[float, float]:
    """The same strategies from their formulas on the whole sorted array (slow; the yardstick the
    observer is tested against)."""
    _check_method(method)
    values = np.ascontiguousarray(float_array(x, allow_empty=True), dtype=np.float64).reshape(-1)
    return _core.range_reference(values, method, float(percentile), bool(symmetric), int(levels))


def check_range_spec(spec, name: str = "xmax"):
    """Validates a weight range spec and returns it normalised: a finite positive float (numbers and
    numeric strings), ``"max"``, ``"mse"`` or ``"percentile:P"`` with ``0 < P <= 100``."""
    if isinstance(spec, str):
        if spec in ("max", "mse"):
            return spec
        if spec.startswith("percentile:"):
            try:
                p = float(spec.split(":", 1)[1])
            except ValueError:
                p = float("nan")
            if not 0 < p <= 100:
                raise ValueError(f'{name}: "percentile:P" needs 0 < P <= 100, got {spec!r}')
            return f"percentile:{p:g}"
        try:
            spec = float(spec)
        except ValueError:
            spec = None  # not a number either: refused below
    if isinstance(spec, bool) or not isinstance(spec, numbers.Real) or not np.isfinite(spec) or spec <= 0:
        raise ValueError(f'{name} must be a positive number, "max", "percentile:P" or "mse", got {spec!r}')
    return float(spec)


def fit_xmax(x, spec, levels: int = 255) -> float:
    """``xmax`` of a symmetric weight range ``[-xmax, xmax]`` for ``x`` by ``spec``
    (:func:`check_range_spec`): ``max|x|``, the P-th percentile of ``|x|``, or the MSE-best threshold
    of a uniform grid of ``levels`` steps. NaN/Inf raise ``ValueError``; a number is returned as is;
    a result of 0 (no non-zero value, or a percentile among the zeros) falls back to ``max|x|``, then 1.0."""
    spec = check_range_spec(spec)
    if not isinstance(spec, str):
        return spec
    x = float_array(x)
    observer = _core.RangeObserver(spec != "max")
    observer.observe(x.reshape(-1))
    raise_if_non_finite(observer.non_finite, x)
    if spec == "max":
        xmax = observer.range("minmax", 99.99, True, 255)[1]
    elif spec == "mse":
        xmax = observer.range("mse", 99.99, True, max(2, int(levels)))[1]
    else:
        xmax = observer.range("percentile", float(spec.split(":", 1)[1]), True, 255)[1]
    if xmax <= 0:
        xmax = max(-observer.min, observer.max)
    return float(xmax) if xmax > 0 else 1.0
