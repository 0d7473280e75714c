"""Pack coded tensors and their model into ``.eqz`` bytes: the one writer that
:func:`~edgequant.compress.compress_model` and :func:`edgequant.training.export_eqz` share."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx

from .. import coding
from ..model.tensor_slots import TensorSlots
from .container import write_container


@dataclass(frozen=True, eq=False)
class CodedTensor:
    """One quantized tensor as ``.eqz`` stores it.

    Attributes
    ----------
    name : str
        The initializer (or Constant) of the model that it restores.
    symbols : numpy.ndarray
        Integer symbols, the tensor's shape.
    spec : dict
        The quantizer's spec (``Quantizer.spec()``), which decoding rebuilds it from.
    state : dict
        The quantizer's fitted decode state (``Quantizer.decode_state()``).
    """

    name: str
    symbols: np.ndarray
    spec: dict
    state: dict


@dataclass(frozen=True)
class PackedModel:
    """The ``.eqz`` bytes and the bytes of their symbol streams (coder tables and headers included)."""

    data: bytes
    coded_bytes: int


def pack_model(model: onnx.ModelProto, tensors: list[CodedTensor], producer: str,
               entropy_bits_per_weight: float) -> PackedModel:
    """The ``.eqz`` file of ``model`` whose ``tensors`` are stored as coded symbols.

    The tensors' data is removed from ``model`` **in place** (the graph keeps their names, shapes
    and types); everything else of the model goes into the file as it is.

    Parameters
    ----------
    model : onnx.ModelProto
        The model holding every tensor of ``tensors`` (an initializer or a Constant's value).
    tensors : list of CodedTensor
        At least one.
    producer : str
        Written in the header (``"edgequant 1.2"``...).
    entropy_bits_per_weight : float
        The header's entropy estimate ``Σ n_t·H_t / Σ n_t`` of the symbols.

    Raises
    ------
    ValueError
        If ``tensors`` is empty or names a tensor that ``model`` cannot hold.
    """
    if not tensors:
        raise ValueError("no tensors to code")
    slots = TensorSlots(model)
    for tensor in tensors:
        why = slots.why_not_rewritable(tensor.name)
        if why is not None:
            raise ValueError(f"tensor {tensor.name!r} cannot be stored as symbols: {why}")
    for tensor in tensors:
        slots.clear_values(tensor.name)
    streams, placement = smallest_layout([tensor.symbols for tensor in tensors])
    entries = [{"name": tensor.name, "shape": list(tensor.symbols.shape), "spec": tensor.spec, "state": tensor.state,
                "stream": stream, "offset": offset}
               for tensor, (stream, offset) in zip(tensors, placement, strict=True)]
    weight_count = sum(int(tensor.symbols.size) for tensor in tensors)
    header = {"producer": producer, "tensors": entries,
              "stats": {"weight_count": weight_count, "entropy_bits_per_weight": entropy_bits_per_weight}}
    data = write_container(header, model.SerializeToString(), streams)
    return PackedModel(data=data, coded_bytes=sum(len(stream) for stream in streams))


# Symbols up to which smallest_layout also tries one pooled stream. Past it, the per-stream tables
# saved are a few hundred bytes against megabytes of symbols, and the pooled copy of every symbol
# would be the largest allocation of a compress.
POOLED_AT_MOST = 1 << 22


def smallest_layout(symbols: list[np.ndarray]) -> tuple[list[bytes], list[tuple[int, int]]]:
    """Code the tensors one stream each, and (up to :data:`POOLED_AT_MOST` symbols) all pooled in
    one; keep the smaller.

    Separate streams fit each tensor's own statistics; one pooled stream pays a single header
    and table, which wins for small models whose tensors share an alphabet.

    Returns
    -------
    streams : list of bytes
    placement : list of (int, int)
        (stream index, symbol offset in it) of each tensor, in order.
    """
    separate = [coding.encode(codes) for codes in symbols]
    flat = [codes.reshape(-1) for codes in symbols]
    if sum(f.size for f in flat) > POOLED_AT_MOST:  # the pooled copy would cost as much as the symbols
        return separate, [(index, 0) for index in range(len(symbols))]
    pooled = coding.encode(np.concatenate(flat))
    if len(symbols) > 1 and len(pooled) < sum(len(s) for s in separate):
        offsets = np.concatenate([[0], np.cumsum([f.size for f in flat])[:-1]]).tolist()
        return [pooled], [(0, int(offset)) for offset in offsets]
    return separate, [(index, 0) for index in range(len(symbols))]
