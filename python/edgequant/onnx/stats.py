"""Per-layer statistics of a model's weights, as a small table (records, columns or pandas).

Moments are accumulated in float64 over the finite values; NaN/Inf are counted apart
(``non_finite``) so one bad value does not hide the shape of the rest. ``kurtosis`` is the
*excess* (Fisher) kurtosis of the population, ``m4 / m2**2 − 3``: 0 for a Gaussian, 3 for a
Laplacian, −1.2 for a uniform; None when undefined (fewer than two distinct finite values).
``std`` is the population standard deviation (ddof = 0). ``sparsity`` is the fraction of
elements exactly equal to zero (−0.0 included).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from .loader import ModelSource
from .weights import WeightTensor, weights

#: The columns of :func:`layer_stats`' rows, in order.
STAT_COLUMNS = (
    "name", "role", "op_type", "dtype", "shape", "count",
    "mean", "std", "min", "max", "kurtosis", "sparsity", "non_finite",
)  # fmt: skip


def tensor_stats(values: np.ndarray) -> dict:
    """Summary statistics of one tensor (see the module docstring for definitions).

    Returns
    -------
    dict
        ``count``, ``mean``, ``std``, ``min``, ``max``, ``kurtosis``, ``sparsity``,
        ``non_finite``; moments are None when there is no finite value.
    """
    with np.errstate(invalid="ignore"):  # signalling NaNs warn when widened; they are counted
        flat = np.asarray(values, dtype=np.float64).reshape(-1)
    count = int(flat.size)
    finite_mask = np.isfinite(flat)
    finite = flat[finite_mask]
    result = {
        "count": count,
        "mean": None, "std": None, "min": None, "max": None, "kurtosis": None,
        "sparsity": float(np.count_nonzero(flat == 0) / count) if count else None,
        "non_finite": int(count - finite.size),
    }  # fmt: skip
    if finite.size:
        mean = float(finite.mean())
        centered = finite - mean
        second = float(np.mean(centered**2))
        result.update(
            mean=mean,
            std=float(np.sqrt(second)),
            min=float(finite.min()),
            max=float(finite.max()),
        )
        if second > 0:
            result["kurtosis"] = float(np.mean(centered**4) / second**2 - 3.0)
    return result


class LayerStatsTable(Sequence):
    """Rows of per-tensor statistics, one dict per weight tensor (columns: ``STAT_COLUMNS``).

    Behaves as a read-only list of dicts; ``to_records()`` / ``to_dict()`` give plain
    JSON-ready structures and ``to_pandas()`` a DataFrame (pandas is imported only then).
    """

    columns = STAT_COLUMNS

    def __init__(self, rows: Iterable[dict]):
        self._rows = [dict(row) for row in rows]

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index):
        return self._rows[index]

    def __iter__(self) -> Iterator[dict]:
        return iter(self._rows)

    def __repr__(self) -> str:
        return f"LayerStatsTable({len(self)} tensors)"

    def to_records(self) -> list[dict]:
        """One plain dict per tensor (copies), JSON-serialisable."""
        return [dict(row) for row in self._rows]

    def to_dict(self) -> dict[str, list]:
        """Column name → list of values, JSON-serialisable."""
        return {column: [row[column] for row in self._rows] for column in self.columns}

    def to_pandas(self):
        """The table as a ``pandas.DataFrame`` (None statistics become NaN).

        Raises
        ------
        ImportError
            If pandas is not installed.
        """
        import pandas as pd  # optional dependency: imported only when asked for

        return pd.DataFrame(self.to_records(), columns=list(self.columns))


def layer_stats(model_or_weights: ModelSource | Iterable[WeightTensor]) -> LayerStatsTable:
    """Statistics of every weight tensor of a model.

    Parameters
    ----------
    model_or_weights : path, bytes, onnx.ModelProto or iterable of WeightTensor
        A model (anything :func:`~edgequant.onnx.load_model` accepts) or the result of
        :func:`~edgequant.onnx.weights`.

    Returns
    -------
    LayerStatsTable
        One row per tensor, in :func:`~edgequant.onnx.weights` order.
    """
    if isinstance(model_or_weights, list | tuple) and all(
        isinstance(item, WeightTensor) for item in model_or_weights
    ):
        tensors = model_or_weights
    else:
        tensors = weights(model_or_weights)
    rows = []
    for tensor in tensors:
        row = {
            "name": tensor.name,
            "role": tensor.role,
            "op_type": tensor.op_type,
            "dtype": tensor.dtype,
            "shape": list(tensor.shape),
        }
        row.update(tensor_stats(tensor.values))
        rows.append(row)
    return LayerStatsTable(rows)
