"""
edgequant inference engine (private; use edgequant.Engine).
"""
from __future__ import annotations
import collections.abc
from edgequant._core import CorruptDataError
import numpy
import numpy.typing
import typing
__all__: list[str] = ['Calibrator', 'CorruptDataError', 'Engine', 'int8_weight_bits', 'quantize_int8_weights', 'supported_backends', 'supported_ops']
class Engine:
    @staticmethod
    def from_bytes(data: bytes, backend: str, threads: typing.SupportsInt | typing.SupportsIndex, outputs: collections.abc.Sequence[str] = [], base_dir: str = '', int8_weight_bits: typing.SupportsInt | typing.SupportsIndex = 0, fuse_residual_adds: bool = True) -> Engine:
        ...
    def activation_quantization(self, tensor: str) -> tuple[float, int]:
        ...
    def calibration_tensors(self) -> list[str]:
        ...
    def integer_layers(self) -> dict:
        """
        Static INT8 layers: name -> their s8 weights (flat, the float weights' order), weight scales, the input's and output's (scale, zero point), and where they requantize in TFLite's fixed point its int32 bias, multipliers, shifts, output zero point and clamp (u8).
        """
    def integer_tensors(self) -> dict[str, tuple[float, int]]:
        ...
    def layer_times(self) -> list:
        ...
    def lowered_graph(self) -> tuple[list, dict, int]:
        """
        The graph after the passes (constants folded, BatchNormalization and biases folded, activations fused): (nodes as (op_type, name, inputs, outputs, attributes, domain), constants, opset). What the C export lowers. A weight whose float values static INT8 released (its kernel holds the codes) is None.
        """
    def plan(self) -> list:
        """
        (node name, op type, precision) per executed node, precision 'f32' / 'int8_static' / 'int8_dynamic' (or 'f32_s8_weights': a quantized file's LSTM on its s8 recurrent codes).
        """
    def quantizable_layers(self) -> list[str]:
        ...
    def release_float_weights(self) -> None:
        """
        INT8 modes only: free the float weights of the quantizable layers; FP32 is refused afterwards.
        """
    def reset_layer_times(self) -> None:
        ...
    def run(self, inputs: collections.abc.Sequence[numpy.ndarray]) -> list:
        ...
    def run_capture(self, inputs: collections.abc.Sequence[numpy.ndarray], every_tensor: bool = False) -> tuple[list, dict]:
        """
        Outputs and the calibration tensors of this run (every float value with every_tensor).
        """
    def set_activation_range(self, tensor: str, min: typing.SupportsFloat | typing.SupportsIndex, max: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def set_activation_ranges(self, ranges: collections.abc.Mapping[str, tuple[typing.SupportsFloat | typing.SupportsIndex, typing.SupportsFloat | typing.SupportsIndex]]) -> None:
        """
        name -> (min, max) for several calibration tensors at once (one re-plan).
        """
    def set_mode(self, mode: str) -> None:
        ...
    def set_profiling(self, on: bool) -> None:
        ...
    def set_threads(self, threads: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def value_layouts(self, inputs: collections.abc.Sequence[numpy.ndarray]) -> dict[str, str]:
        """
        How each value lay after a run (a diagnostic): the backend's layout ("nhwc", "nChw16c" ...), "codes" (plain u8 codes) or "plain".
        """
    @property
    def backend(self) -> str:
        ...
    @property
    def carries_quantization(self) -> bool:
        """
        Whether the model gives its own activation scales and zero points (QDQ or QLinear ops): static INT8 then runs without calibration.
        """
    @property
    def float_weights_released(self) -> bool:
        ...
    @property
    def ignored_outputs(self) -> list[tuple[str, str]]:
        ...
    @property
    def inputs(self) -> list:
        ...
    @property
    def int8_weight_bits(self) -> int:
        """
        The INT8 weights' grid: 8 bits, or 7 where the CPU's INT8 kernels would saturate.
        """
    @property
    def mode(self) -> str:
        ...
    @property
    def outputs(self) -> list:
        ...
class Calibrator:
    def __init__(self, engine: Engine, method: str, percentile: typing.SupportsFloat | typing.SupportsIndex = 99.99, every_tensor: bool = False) -> None:
        ...
    def apply(self) -> None:
        """
        Sets the ranges on the engine (one re-plan).
        """
    def observe(self, inputs: collections.abc.Sequence[numpy.ndarray]) -> None:
        """
        One FP32 run on a calibration batch; its calibration tensors are observed.
        """
    def ranges(self) -> dict[str, tuple[float, float]]:
        ...
    @property
    def runs(self) -> int:
        ...
def int8_weight_bits(backend: str = '') -> int:
    """
    The widest INT8 weight grid the backend sums exactly on this CPU (8, or 7: oneDNN without VNNI); without a backend, the engine's default, the narrowest of all.
    """
def quantize_int8_weights(weights: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], bits: typing.SupportsInt | typing.SupportsIndex = 8) -> tuple[numpy.typing.NDArray[numpy.int8], numpy.typing.NDArray[numpy.float32]]:
    """
    The engine's INT8 weights of a [channels, k] float32 array: (int8 codes, float32 scale per channel), symmetric, scale max|w| / 127 (bits 8: codes in [-127, 127]) or max|w| / 63 (bits 7).
    """
def supported_backends() -> list[str]:
    """
    The backends of this build, the default (fastest) first.
    """
def supported_ops() -> list[str]:
    ...
