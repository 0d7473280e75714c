"""Input checks for the metrics: every error names the offending parameter."""

from __future__ import annotations

import numbers

import numpy as np


def score_matrix(scores, name: str = "scores", finite: bool = False) -> np.ndarray:
    """``scores`` as a non-empty 2-D real array [samples, classes], or raise.

    Integer scores are accepted (quantized outputs often are) and kept as they are; booleans,
    complex and object arrays raise ``TypeError``. NaN always raises ``ValueError``, and so does
    ±Inf when ``finite`` (softmax and SQNR have no meaning for infinite values).
    """
    array = np.asarray(scores)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a real (integer or float) array, got dtype {array.dtype}")
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D [samples, classes], got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty (shape {array.shape})")
    _raise_if_not_finite(array, name, allow_inf=not finite)
    return array


def real_array(values, name: str) -> np.ndarray:
    """``values`` as a non-empty finite real array of any shape, or raise."""
    array = np.asarray(values)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a real (integer or float) array, got dtype {array.dtype}")
    if array.size == 0:
        raise ValueError(f"{name} is empty (shape {array.shape})")
    _raise_if_not_finite(array, name, allow_inf=False)
    return array


def class_indices(values, name: str, num_classes: int | None = None) -> np.ndarray:
    """``values`` as a non-empty 1-D int64 array of class indices in [0, num_classes), or raise.

    Without ``num_classes`` only negativity is checked.
    """
    array = np.asarray(values)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array of class indices, "
                        f"got dtype {array.dtype}")
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D [samples], got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty")
    low, high = int(array.min()), int(array.max())
    if low < 0:
        raise ValueError(f"{name} must be class indices >= 0, got {low}")
    if num_classes is not None and high >= num_classes:
        raise ValueError(f"{name} must be class indices < {num_classes} (the number of classes), "
                         f"got {high}")
    return array.astype(np.int64, copy=False)


def same_length(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raise ValueError unless ``a`` and ``b`` describe the same number of samples."""
    if len(a) != len(b):
        raise ValueError(f"{name_a} and {name_b} must have the same number of samples, "
                         f"got {len(a)} and {len(b)}")


def same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raise ValueError unless ``a`` and ``b`` have the same shape."""
    if a.shape != b.shape:
        raise ValueError(f"{name_a} and {name_b} must have the same shape, "
                         f"got {a.shape} and {b.shape}")


def positive_int(value, name: str) -> int:
    """``value`` as an int >= 1, else TypeError/ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def _raise_if_not_finite(array: np.ndarray, name: str, allow_inf: bool) -> None:
    if array.dtype.kind != "f":
        return
    bad = np.isnan(array) if allow_inf else ~np.isfinite(array)
    if bad.any():
        first = int(np.flatnonzero(bad.reshape(-1))[0])
        what = "NaN" if allow_inf else "NaN/Inf"
        raise ValueError(f"{name} contains {int(bad.sum())} {what} value(s) "
                         f"(first at flat index {first})")
