"""Input checks shared by every public function: clear errors that name the parameter."""

from __future__ import annotations

import numbers

import numpy as np


def float_array(x, name: str = "x", allow_empty: bool = False) -> np.ndarray:
    """Return ``x`` as a C-contiguous float32 or float64 array, or raise.

    float16 is widened to float32 (exactly). Integer, boolean, complex and object arrays raise
    ``TypeError``; an empty array raises ``ValueError`` unless ``allow_empty``. Non-contiguous
    input is copied once.
    """
    array = np.asarray(x)
    if array.dtype == np.float16:
        array = array.astype(np.float32)
    if array.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {array.dtype}")
    if array.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty")
    return np.ascontiguousarray(array)


def symbol_array(symbols, name: str = "symbols", allow_empty: bool = False) -> np.ndarray:
    """Return ``symbols`` as a C-contiguous int32 array; other integer dtypes must fit in int32."""
    array = np.asarray(symbols)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array, got dtype {array.dtype}")
    if array.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty")
    if array.dtype != np.int32:
        if array.size and (array.min() < np.iinfo(np.int32).min or array.max() > np.iinfo(np.int32).max):
            raise ValueError(f"{name} has values outside the int32 range")
        array = array.astype(np.int32)
    return np.ascontiguousarray(array)


def raise_if_non_finite(count: int, x: np.ndarray, name: str = "x") -> None:
    """Raise ValueError if a kernel counted NaN/Inf elements in ``x`` (edgequant's NaN policy)."""
    if count:
        first = int(np.flatnonzero(~np.isfinite(x.reshape(-1)))[0])
        raise ValueError(
            f"{name} contains {count} NaN/Inf value(s) (first at flat index {first}); "
            "edgequant refuses non-finite weights: clean them first, e.g. with np.nan_to_num"
        )


def integer_in(value, low: int, high: int, name: str) -> int:
    """``value`` as an int in [low, high], else ValueError/TypeError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}")
    return int(value)


def real_in(value, name: str, low: float | None = None, high: float | None = None,
            low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a finite float within the given bounds, else ValueError/TypeError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        bounds = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
        raise ValueError(f"{name} must be in {bounds}, got {value}")
    return value
