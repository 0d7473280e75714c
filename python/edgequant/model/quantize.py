"""Apply a quantizer to the weights of an ONNX model (quantize, then dequantize in place)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import onnx

from ..entropy import entropy
from ..onnx.loader import ModelSource, load_model_and_files
from ..quantizers import Quantizer
from .quantized_model import QuantizedModel
from .selection import DEFAULT_ROLES, WeightSelection, select_weights
from .tensor_slots import TensorSlots


def quantize_weights(
    model: ModelSource,
    quantizer,
    roles: Iterable[str] = DEFAULT_ROLES,
    include_biases: bool = False,
) -> QuantizedModel:
    """Quantize and dequantize chosen weight tensors of an ONNX model.

    Parameters
    ----------
    model : str, os.PathLike, bytes or onnx.ModelProto
        Anything :func:`edgequant.onnx.load_model` accepts; a ModelProto is not modified.
    quantizer : Quantizer or PerChannelAffine
        Applied to each tensor separately through a fresh copy (quantizers with ``xmax="max"``
        and :class:`~edgequant.quantizers.Affine` fit their parameters to each tensor). A
        :class:`~edgequant.model.PerChannelAffine` builds one Affine per tensor along its
        output-channel axis.
    roles : iterable of str, default ``("conv_weight", "gemm_weight")``
        Roles (see :mod:`edgequant.onnx.roles`) of the tensors to quantize.
    include_biases : bool, default False
        Also quantize ``bias`` tensors (the paper quantizes weights and biases).

    Returns
    -------
    QuantizedModel
        The rewritten model with symbols, fitted quantizers, entropy and weight SQNR. Tensors
        already quantized (integers read by DequantizeLinear), sparse initializers and literal
        Constants are left unchanged and listed in ``skipped``.

    Raises
    ------
    TypeError
        If ``quantizer`` is not a quantizer.
    ValueError
        If the model cannot be loaded, a role is unknown, or no tensor can be quantized.
    """
    check_quantizer(quantizer)
    loaded = load_model_and_files(model)
    selection = select_weights(loaded.model, roles, include_biases, loaded.description)
    return apply_quantizer(loaded.model, selection, quantizer)


def check_quantizer(quantizer) -> None:
    """Raise TypeError unless ``quantizer`` is a Quantizer or a per-tensor factory."""
    if not isinstance(quantizer, Quantizer) and not callable(getattr(quantizer, "for_tensor", None)):
        raise TypeError(
            "quantizer must be an edgequant Quantizer (e.g. QUANTIZERS['midtread'](levels=256, "
            f"xmax='max')) or a PerChannelAffine, got {type(quantizer).__name__}"
        )


def fresh_quantizer(quantizer, axis: int | None, name: str | None = None) -> Quantizer:
    """An unfitted quantizer of its own for one tensor (fitted state is per tensor).

    A plain quantizer is rebuilt from its constructor arguments (``type(q)(**q.params())``);
    ``axis`` (the tensor's output-channel axis) is used by per-tensor factories only, and
    ``name`` by factories that choose per tensor (``for_named_tensor``, e.g. a mixed-precision
    bit config).
    """
    if isinstance(quantizer, Quantizer):
        return type(quantizer)(**quantizer.params())
    if name is not None and hasattr(quantizer, "for_named_tensor"):
        return quantizer.for_named_tensor(name, axis)
    return quantizer.for_tensor(axis)


def apply_quantizer(model: onnx.ModelProto, selection: WeightSelection, quantizer) -> QuantizedModel:
    """Quantize the tensors of ``selection`` in a copy of ``model`` (the sweep's inner step).

    ``selection`` must come from :func:`~.selection.select_weights` on this very ``model``;
    keeping it lets a caller quantize one model many times without re-analysing the graph.
    """
    check_quantizer(quantizer)
    start = time.perf_counter()
    rewritten = onnx.ModelProto()
    rewritten.CopyFrom(model)
    slots = TensorSlots(rewritten)
    symbols, quantizers = {}, {}
    signal = noise = 0.0
    for tensor in selection.tensors:
        fitted = fresh_quantizer(quantizer, selection.axes.get(tensor.name), tensor.name)
        codes = fitted.encode(tensor.values)
        stored = slots.write(tensor.name, fitted.decode(codes))
        # numpy's pairwise sum, not BLAS dot: the same bits whatever the BLAS threads, so that
        # sweeps on different executors give identical rows.
        signal += selection.energy(tensor)
        error = np.subtract(tensor.values, stored, dtype=np.float64)
        noise += float(np.sum(error * error))
        symbols[tensor.name], quantizers[tensor.name] = codes, fitted
    quantized = time.perf_counter()

    tensor_entropy, weight_count, rate = _entropy_rate(symbols)
    done = time.perf_counter()

    return QuantizedModel(
        model=rewritten,
        symbols=symbols,
        quantizers=quantizers,
        tensor_entropy=tensor_entropy,
        entropy=rate,
        weight_count=weight_count,
        weight_sqnr_db=_sqnr_db(signal, noise),
        skipped=dict(selection.skipped),
        timings={"quantize_s": quantized - start, "entropy_s": done - quantized},
    )


def encode_selection(selection: WeightSelection, quantizer, consume: bool = False) -> EncodedWeights:
    """The symbols of ``selection``'s tensors under ``quantizer`` (a fresh copy fitted per tensor,
    as :func:`apply_quantizer`), the model untouched: what an ``.eqz`` stores. One pass over the
    weights; no reconstructed weights are written anywhere.

    ``consume``: take the tensors out of ``selection`` as they are encoded (it ends empty), so each
    float tensor is freed once its symbols exist: the float weights and the symbols are not all in
    memory at once."""
    check_quantizer(quantizer)
    symbols, quantizers = {}, {}
    for tensor in _taken(selection) if consume else selection.tensors:
        fitted = fresh_quantizer(quantizer, selection.axes.get(tensor.name), tensor.name)
        symbols[tensor.name], quantizers[tensor.name] = fitted.encode(tensor.values), fitted
        del tensor  # consumed: the last reference to its float values
    _, weight_count, rate = _entropy_rate(symbols)
    return EncodedWeights(symbols=symbols, quantizers=quantizers, entropy=rate, weight_count=weight_count)


def _taken(selection: WeightSelection):
    """``selection``'s tensors in order, each removed from it as it is handed out."""
    pending, selection.tensors = list(reversed(selection.tensors)), []
    while pending:
        yield pending.pop()


@dataclass(frozen=True)
class EncodedWeights:
    """:func:`encode_selection`'s result: symbols and fitted quantizer per tensor, the symbols'
    mean entropy (bits per weight, weighted by tensor size) and their count."""

    symbols: dict
    quantizers: dict
    entropy: float
    weight_count: int


def _entropy_rate(symbols: dict) -> tuple[dict, int, float]:
    """Per-tensor entropy, the weight count, and the size-weighted mean entropy."""
    tensor_entropy = {name: entropy(codes) for name, codes in symbols.items()}
    weight_count = sum(codes.size for codes in symbols.values())
    rate = sum(symbols[name].size * tensor_entropy[name] for name in symbols) / weight_count if weight_count else 0.0
    return tensor_entropy, weight_count, rate


def _sqnr_db(signal: float, noise: float) -> float:
    if noise == 0:
        return math.inf
    if signal == 0:
        return -math.inf
    return 10.0 * math.log10(signal / noise)
