"""
edgequant inference engine (private; use edgequant.Engine).
"""
from __future__ import annotations
import collections.abc
from edgequant._core import CorruptDataError
import numpy
import typing
__all__: list[str] = ['CorruptDataError', 'Engine', 'supported_backends', 'supported_ops']
class Engine:
    @staticmethod
    def from_bytes(data: bytes, backend: str, threads: typing.SupportsInt | typing.SupportsIndex, outputs: collections.abc.Sequence[str] = []) -> Engine:
        ...
    def __init__(self, path: str, backend: str, threads: typing.SupportsInt | typing.SupportsIndex, outputs: collections.abc.Sequence[str] = []) -> None:
        ...
    def activation_quantization(self, tensor: str) -> tuple[float, int]:
        ...
    def calibration_tensors(self) -> list[str]:
        ...
    def layer_times(self) -> list:
        ...
    def plan(self) -> list:
        """
        (node name, op type, precision) per executed node, precision 'f32' / 'int8_static' / 'int8_dynamic'.
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
    def run_capture(self, inputs: collections.abc.Sequence[numpy.ndarray]) -> tuple[list, dict]:
        """
        Outputs and the calibration tensors of this run.
        """
    def set_activation_range(self, tensor: str, min: typing.SupportsFloat | typing.SupportsIndex, max: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def set_mode(self, mode: str) -> None:
        ...
    def set_profiling(self, on: bool) -> None:
        ...
    def set_threads(self, threads: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def backend(self) -> str:
        ...
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
    def mode(self) -> str:
        ...
    @property
    def outputs(self) -> list:
        ...
def supported_backends() -> list[str]:
    """
    The backends of this build, the default (fastest) first.
    """
def supported_ops() -> list[str]:
    ...
