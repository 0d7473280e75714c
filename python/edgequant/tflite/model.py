"""What :func:`~edgequant.tflite.read_tflite` returns: plain data, no flatbuffer objects."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class TFLiteTensor:
    """One tensor of the (first) subgraph.

    Attributes
    ----------
    index : int
    name : str
    dtype : numpy.dtype
    shape : tuple of int
    scale, zero_point : numpy.ndarray
        float32 and int64, one entry (per tensor) or one per slice along ``quantized_dimension``;
        empty for unquantized tensors. Real value = scale * (q - zero_point).
    quantized_dimension : int
    data : numpy.ndarray or None
        The constant contents in ``shape``, or None for activations.
    """

    index: int
    name: str
    dtype: np.dtype
    shape: tuple
    scale: np.ndarray
    zero_point: np.ndarray
    quantized_dimension: int = 0
    data: np.ndarray | None = None

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


@dataclass
class TFLiteOperator:
    """One operator: its builtin name (e.g. ``"CONV_2D"``; a custom one ``"CUSTOM:<its code>"``), tensor
    indices (-1 = absent optional input) and decoded options (``padding``, ``stride_h``, ``activation``,
    ...; a custom operator's raw option bytes under ``"custom"``)."""

    index: int
    kind: str
    inputs: list
    outputs: list
    options: dict = field(default_factory=dict)


@dataclass
class TFLiteModel:
    """A TFLite model's first subgraph."""

    tensors: list
    operators: list
    inputs: list
    outputs: list
    description: str = ""
