"""The integer graph export-c compiles: int8 activation tensors and kernel calls whose parameters
(offsets, activation ranges, fixed-point multipliers) are already computed — TFLite's "Prepare"
done once at export time. Both front ends (TFLite, ONNX) produce it; the planner and the code
generator consume it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


class UnsupportedModelError(ValueError):
    """The model uses operators or types the C runtime does not have; the message lists all of them."""


@dataclass
class Activation:
    """An int8 activation tensor (NHWC for images). Real value = scale * (q - zero_point)."""

    index: int
    name: str
    shape: tuple
    scale: float
    zero_point: int

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


@dataclass
class Layer:
    """One kernel call.

    Attributes
    ----------
    kind : str
        A registered kernel kind (:data:`.kernels.KERNELS`: ``"conv2d"``, ``"add"``, ...).
    name : str
        The source operator's name, for messages and the per-layer table.
    inputs : list of int
        Activation indices read (two for ``add``).
    output : int
        Activation index written.
    params : dict
        The kernel's parameter block (field name -> int), in the C struct's field order.
    constants : dict
        ``filter`` (int8), ``bias`` (int32), ``multipliers`` / ``shifts`` (int32 per channel): const data.
    """

    kind: str
    name: str
    inputs: list
    output: int
    params: dict = field(default_factory=dict)
    constants: dict = field(default_factory=dict)

    @property
    def weight_bytes(self) -> int:
        return int(sum(array.nbytes for array in self.constants.values()))


@dataclass
class IntegerGraph:
    """Activations, layers in execution order, the graph input and output activations."""

    activations: list
    layers: list
    input: int
    output: int
    source: str = ""
    input_layout: str | None = None  # "NCHW": callers' images are transposed to the runtime's NHWC

    @property
    def input_activation(self) -> Activation:
        return self.activations[self.input]

    @property
    def output_activation(self) -> Activation:
        return self.activations[self.output]

    def quantize_input(self, x) -> np.ndarray:
        """Quantize float inputs (batch on axis 0) with the model's input parameters (round half to even, clip)."""
        a = self.input_activation
        x = np.asarray(x, np.float32)
        if self.input_layout == "NCHW" and x.ndim == 4:
            x = x.transpose(0, 2, 3, 1)
        q = np.round(x / np.float32(a.scale)) + a.zero_point
        return np.clip(q, -128, 127).astype(np.int8)

    def dequantize_output(self, q) -> np.ndarray:
        a = self.output_activation
        return (np.asarray(q, np.float32) - a.zero_point) * np.float32(a.scale)
