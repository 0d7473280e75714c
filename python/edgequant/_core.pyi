"""
edgequant C++ core (private; use the edgequant package).
"""
from __future__ import annotations
import collections.abc
import numpy
import numpy.typing
import typing
__all__: list[str] = ['AffineFormat', 'AffineParams', 'CorruptDataError', 'Distortion', 'ENTROPY_MAX_CLIPPED', 'FitHistogram', 'Moments', 'PruneQuantizeFit', 'QuantizerFamily', 'QuantizerKernels', 'QuantizerParameter', 'RANGE_HISTOGRAM_BINS', 'Range', 'RangeObserver', 'affine_decode_per_channel', 'affine_encode_per_channel', 'affine_fit_per_channel', 'affine_params_from_range', 'affine_quantize_per_channel', 'channel_ranges', 'coding_decode', 'coding_encode', 'coding_info', 'count_symbols', 'distortion', 'entropy_bits', 'fit_cdf', 'fit_families', 'fit_family_names', 'fit_histogram', 'fit_logpdf', 'fit_parameter_names', 'fit_pdf', 'fit_prune_quantize', 'fit_score', 'float_pattern_entropy_bits', 'force_reference', 'make_quantizer_kernels', 'max_threads', 'quantizer_families', 'range_reference', 'set_force_reference', 'set_max_threads', 'tensor_moments', 'tensor_range']
class CorruptDataError(ValueError):
    pass
class PruneQuantizeFit:
    @property
    def max_abs(self) -> float:
        ...
    @property
    def max_symbol(self) -> int:
        ...
    @property
    def non_finite(self) -> int:
        ...
    @property
    def op(self) -> ...:
        ...
    @property
    def std(self) -> float:
        ...
    @property
    def step(self) -> float:
        ...
    @property
    def threshold(self) -> float:
        ...
class AffineFormat:
    def __init__(self, bits: typing.SupportsInt | typing.SupportsIndex, symmetric: bool, signed: bool) -> None:
        ...
    @property
    def qmax(self) -> int:
        ...
    @property
    def qmin(self) -> int:
        ...
class AffineParams:
    def __init__(self, scale: typing.SupportsFloat | typing.SupportsIndex, zero_point: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def scale(self) -> float:
        ...
    @property
    def zero_point(self) -> int:
        ...
class Range:
    @property
    def max(self) -> float:
        ...
    @property
    def max_abs(self) -> float:
        ...
    @property
    def min(self) -> float:
        ...
    @property
    def non_finite(self) -> int:
        ...
class Moments:
    @property
    def mean(self) -> float:
        ...
    @property
    def non_finite(self) -> int:
        ...
    @property
    def std(self) -> float:
        ...
class QuantizerParameter:
    @property
    def choices(self) -> list[str]:
        ...
    @property
    def help(self) -> str:
        ...
    @property
    def high(self) -> float:
        ...
    @property
    def high_open(self) -> bool:
        ...
    @property
    def kind(self) -> str:
        ...
    @property
    def low(self) -> float:
        ...
    @property
    def low_open(self) -> bool:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def nullable(self) -> bool:
        ...
    @property
    def switch_name(self) -> str:
        ...
class QuantizerFamily:
    def sweep_grid(self, max_bits: typing.SupportsInt | typing.SupportsIndex) -> list[list[tuple[str, bool | int | float | str]]]:
        ...
    @property
    def examples(self) -> list[list[tuple[str, bool | int | float | str]]]:
        ...
    @property
    def kernel_examples(self) -> list[list[tuple[str, bool | int | float | str]]]:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def parameters(self) -> list[QuantizerParameter]:
        ...
    @property
    def summary(self) -> str:
        ...
class QuantizerKernels:
    def decode(self, src: numpy.typing.NDArray[numpy.int32], dst: numpy.typing.NDArray[numpy.float32]) -> int:
        ...
    @typing.overload
    def encode(self, src: numpy.typing.NDArray[numpy.float32], dst: numpy.typing.NDArray[numpy.int32]) -> int:
        ...
    @typing.overload
    def encode(self, src: numpy.typing.NDArray[numpy.float64], dst: numpy.typing.NDArray[numpy.int32]) -> int:
        ...
    @typing.overload
    def encode_reference(self, src: numpy.typing.NDArray[numpy.float32], dst: numpy.typing.NDArray[numpy.int32]) -> int:
        ...
    @typing.overload
    def encode_reference(self, src: numpy.typing.NDArray[numpy.float64], dst: numpy.typing.NDArray[numpy.int32]) -> int:
        ...
    @typing.overload
    def quantize(self, src: numpy.typing.NDArray[numpy.float32], dst: numpy.typing.NDArray[numpy.float32]) -> int:
        ...
    @typing.overload
    def quantize(self, src: numpy.typing.NDArray[numpy.float64], dst: numpy.typing.NDArray[numpy.float32]) -> int:
        ...
    @typing.overload
    def quantize_reference(self, src: numpy.typing.NDArray[numpy.float32], dst: numpy.typing.NDArray[numpy.float32]) -> int:
        ...
    @typing.overload
    def quantize_reference(self, src: numpy.typing.NDArray[numpy.float64], dst: numpy.typing.NDArray[numpy.float32]) -> int:
        ...
    @property
    def attributes(self) -> dict:
        ...
class Distortion:
    @property
    def count(self) -> int:
        ...
    @property
    def max_abs_error(self) -> float:
        ...
    @property
    def non_finite(self) -> int:
        ...
    @property
    def sum_squared_error(self) -> float:
        ...
    @property
    def sum_squared_signal(self) -> float:
        ...
class FitHistogram:
    @property
    def above(self) -> int:
        ...
    @property
    def below(self) -> int:
        ...
    @property
    def counts(self) -> numpy.typing.NDArray[numpy.int64]:
        ...
    @property
    def edges(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def fine_bins(self) -> int:
        ...
    @property
    def summary(self) -> dict:
        ...
class RangeObserver:
    def __init__(self, histogram: bool = True) -> None:
        ...
    @typing.overload
    def observe(self, src: numpy.typing.NDArray[numpy.float32]) -> None:
        ...
    @typing.overload
    def observe(self, src: numpy.typing.NDArray[numpy.float64]) -> None:
        ...
    def range(self, method: str, percentile: typing.SupportsFloat | typing.SupportsIndex = 99.99, symmetric: bool = False, levels: typing.SupportsInt | typing.SupportsIndex = 255) -> tuple:
        ...
    @property
    def bin_width(self) -> float:
        ...
    @property
    def count(self) -> int:
        ...
    @property
    def has_histogram(self) -> bool:
        ...
    @property
    def max(self) -> float:
        ...
    @property
    def min(self) -> float:
        ...
    @property
    def non_finite(self) -> int:
        ...
    @property
    def zeros(self) -> int:
        ...
def affine_decode_per_channel(format: AffineFormat, scales: numpy.typing.NDArray[numpy.float64], zero_points: numpy.typing.NDArray[numpy.int32], src: numpy.typing.NDArray[numpy.int32], outer: typing.SupportsInt | typing.SupportsIndex, inner: typing.SupportsInt | typing.SupportsIndex, dst: numpy.typing.NDArray[numpy.float32]) -> int:
    ...
@typing.overload
def affine_encode_per_channel(format: AffineFormat, scales: numpy.typing.NDArray[numpy.float64], zero_points: numpy.typing.NDArray[numpy.int32], src: numpy.typing.NDArray[numpy.float32], outer: typing.SupportsInt | typing.SupportsIndex, inner: typing.SupportsInt | typing.SupportsIndex, dst: numpy.typing.NDArray[numpy.int32]) -> int:
    ...
@typing.overload
def affine_encode_per_channel(format: AffineFormat, scales: numpy.typing.NDArray[numpy.float64], zero_points: numpy.typing.NDArray[numpy.int32], src: numpy.typing.NDArray[numpy.float64], outer: typing.SupportsInt | typing.SupportsIndex, inner: typing.SupportsInt | typing.SupportsIndex, dst: numpy.typing.NDArray[numpy.int32]) -> int:
    ...
@typing.overload
def affine_fit_per_channel(format: AffineFormat, src: numpy.typing.NDArray[numpy.float32], outer: typing.SupportsInt | typing.SupportsIndex, channels: typing.SupportsInt | typing.SupportsIndex, inner: typing.SupportsInt | typing.SupportsIndex, scales: numpy.typing.NDArray[numpy.float64], zero_points: numpy.typing.NDArray[numpy.int32]) -> int:
    ...
@typing.overload
def affine_fit_per_channel(format: AffineFormat, src: numpy.typing.NDArray[numpy.float64], outer: typing.SupportsInt | typing.SupportsIndex, channels: typing.SupportsInt | typing.SupportsIndex, inner: typing.SupportsInt | typing.SupportsIndex, scales: numpy.typing.NDArray[numpy.float64], zero_points: numpy.typing.NDArray[numpy.int32]) -> int:
    ...
def affine_params_from_range(format: AffineFormat, min: typing.SupportsFloat | typing.SupportsIndex, max: typing.SupportsFloat | typing.SupportsIndex) -> AffineParams:
    ...
@typing.overload
def affine_quantize_per_channel(format: AffineFormat, scales: numpy.typing.NDArray[numpy.float64], zero_points: numpy.typing.NDArray[numpy.int32], src: numpy.typing.NDArray[numpy.float32], outer: typing.SupportsInt | typing.SupportsIndex, inner: typing.SupportsInt | typing.SupportsIndex, dst: numpy.typing.NDArray[numpy.float32]) -> int:
    ...
@typing.overload
def affine_quantize_per_channel(format: AffineFormat, scales: numpy.typing.NDArray[numpy.float64], zero_points: numpy.typing.NDArray[numpy.int32], src: numpy.typing.NDArray[numpy.float64], outer: typing.SupportsInt | typing.SupportsIndex, inner: typing.SupportsInt | typing.SupportsIndex, dst: numpy.typing.NDArray[numpy.float32]) -> int:
    ...
@typing.overload
def channel_ranges(src: numpy.typing.NDArray[numpy.float32], outer: typing.SupportsInt | typing.SupportsIndex, channels: typing.SupportsInt | typing.SupportsIndex, inner: typing.SupportsInt | typing.SupportsIndex) -> list[Range]:
    ...
@typing.overload
def channel_ranges(src: numpy.typing.NDArray[numpy.float64], outer: typing.SupportsInt | typing.SupportsIndex, channels: typing.SupportsInt | typing.SupportsIndex, inner: typing.SupportsInt | typing.SupportsIndex) -> list[Range]:
    ...
def coding_decode(data: numpy.typing.NDArray[numpy.uint8], max_symbols: typing.SupportsInt | typing.SupportsIndex = -1) -> numpy.typing.NDArray[numpy.int32]:
    """
    Decode a coded stream (uint8 array) to int32 symbols; refuse more than max_symbols (>= 0).
    """
def coding_encode(symbols: numpy.typing.NDArray[numpy.int32]) -> bytes:
    """
    rANS-code a contiguous int32 array (see coding/container.h).
    """
def coding_info(data: numpy.typing.NDArray[numpy.uint8]) -> dict:
    """
    Validate a coded stream's header, table and layout; describe it.
    """
def count_symbols(symbols: numpy.typing.NDArray[numpy.int32]) -> tuple:
    """
    Distinct symbols (sorted) and their counts.
    """
@typing.overload
def distortion(reference: numpy.typing.NDArray[numpy.float32], approx: numpy.typing.NDArray[numpy.float32]) -> Distortion:
    ...
@typing.overload
def distortion(reference: numpy.typing.NDArray[numpy.float32], approx: numpy.typing.NDArray[numpy.float64]) -> Distortion:
    ...
@typing.overload
def distortion(reference: numpy.typing.NDArray[numpy.float64], approx: numpy.typing.NDArray[numpy.float32]) -> Distortion:
    ...
@typing.overload
def distortion(reference: numpy.typing.NDArray[numpy.float64], approx: numpy.typing.NDArray[numpy.float64]) -> Distortion:
    ...
def entropy_bits(symbols: numpy.typing.NDArray[numpy.int32]) -> float:
    ...
def fit_cdf(family: str, x: numpy.typing.NDArray[numpy.float64], params: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], survival: bool = False) -> numpy.typing.NDArray[numpy.float64]:
    ...
def fit_families(histogram: FitHistogram, families: collections.abc.Sequence[str], criteria: collections.abc.Sequence[str]) -> list:
    ...
def fit_family_names() -> list[str]:
    ...
@typing.overload
def fit_histogram(src: numpy.typing.NDArray[numpy.float32], bins: typing.SupportsInt | typing.SupportsIndex, center: bool, mass: typing.SupportsFloat | typing.SupportsIndex) -> FitHistogram:
    ...
@typing.overload
def fit_histogram(src: numpy.typing.NDArray[numpy.float64], bins: typing.SupportsInt | typing.SupportsIndex, center: bool, mass: typing.SupportsFloat | typing.SupportsIndex) -> FitHistogram:
    ...
def fit_logpdf(family: str, x: numpy.typing.NDArray[numpy.float64], params: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> numpy.typing.NDArray[numpy.float64]:
    ...
def fit_parameter_names(family: str) -> list[str]:
    ...
def fit_pdf(family: str, x: numpy.typing.NDArray[numpy.float64], params: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> numpy.typing.NDArray[numpy.float64]:
    ...
@typing.overload
def fit_prune_quantize(src: numpy.typing.NDArray[numpy.float32], gamma: typing.SupportsFloat | typing.SupportsIndex, bits: typing.SupportsInt | typing.SupportsIndex) -> PruneQuantizeFit:
    ...
@typing.overload
def fit_prune_quantize(src: numpy.typing.NDArray[numpy.float64], gamma: typing.SupportsFloat | typing.SupportsIndex, bits: typing.SupportsInt | typing.SupportsIndex) -> PruneQuantizeFit:
    ...
def fit_score(histogram: FitHistogram, family: str, params: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> dict:
    ...
def float_pattern_entropy_bits(values: numpy.typing.NDArray[numpy.float32]) -> float:
    ...
def force_reference() -> bool:
    ...
def make_quantizer_kernels(name: str, values: collections.abc.Sequence[tuple[str, bool | typing.SupportsInt | typing.SupportsIndex | typing.SupportsFloat | typing.SupportsIndex | str]]) -> QuantizerKernels:
    """
    Kernels of the family called name from its kernel values [(name, value), ...] (see quant/registry.h).
    """
def max_threads() -> int:
    """
    Threads the core splits long loops across.
    """
def quantizer_families() -> list[QuantizerFamily]:
    """
    The registered quantizer families, in sweep order.
    """
def range_reference(src: numpy.typing.NDArray[numpy.float64], method: str, percentile: typing.SupportsFloat | typing.SupportsIndex = 99.99, symmetric: bool = False, levels: typing.SupportsInt | typing.SupportsIndex = 255) -> tuple:
    ...
def set_force_reference(on: bool) -> None:
    ...
def set_max_threads(threads: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    0 restores the default.
    """
@typing.overload
def tensor_moments(src: numpy.typing.NDArray[numpy.float32]) -> Moments:
    ...
@typing.overload
def tensor_moments(src: numpy.typing.NDArray[numpy.float64]) -> Moments:
    ...
@typing.overload
def tensor_range(src: numpy.typing.NDArray[numpy.float32]) -> Range:
    ...
@typing.overload
def tensor_range(src: numpy.typing.NDArray[numpy.float64]) -> Range:
    ...
ENTROPY_MAX_CLIPPED: float = 0.0001
RANGE_HISTOGRAM_BINS: int = 8192
__version__: str = '0.1.0'
