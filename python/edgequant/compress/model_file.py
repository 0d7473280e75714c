"""Compress a quantized ONNX model into an ``.eqz`` file and restore it exactly."""

from __future__ import annotations

import lzma
import pathlib
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np
import onnx

from .. import __version__, coding
from ..coding import CorruptDataError
from ..quantizers import from_spec
from .container import read_container
from .header import check_restored_bytes
from .packing import CodedTensor, pack_model


@dataclass
class CompressionReport:
    """Sizes of an ``.eqz`` file against its entropy estimate and general-purpose compressors.

    ``coded_bits_per_weight`` counts the coder streams (tables and stream headers included)
    over the quantized weights; ``entropy_bits_per_weight`` is the estimate ``Σ n_t·H_t / Σ n_t``
    of the same tensors; ``file_bytes`` adds the ONNX graph and the JSON header. ``xz_bytes`` is
    None when the general-purpose comparison was not asked for, ``zstd_bytes`` also when zstd is
    not installed.
    """

    path: pathlib.Path
    file_bytes: int
    original_bytes: int
    weight_count: int
    coded_bytes: int
    coded_bits_per_weight: float
    entropy_bits_per_weight: float
    xz_bytes: int | None
    zstd_bytes: int | None

    @property
    def coding_overhead(self) -> float:
        """coded / entropy − 1: how far the real coder is from the ideal estimate."""
        return self.coded_bits_per_weight / self.entropy_bits_per_weight - 1 if self.entropy_bits_per_weight else 0.0

    def rows(self) -> list[dict]:
        rows = [{"what": "original ONNX", "bytes": self.original_bytes}]
        if self.xz_bytes is not None:
            rows.append({"what": "xz -9e of the ONNX", "bytes": self.xz_bytes})
        if self.zstd_bytes is not None:
            rows.append({"what": "zstd -19 of the ONNX", "bytes": self.zstd_bytes})
        rows.append({"what": f"{self.path.name} (.eqz)", "bytes": self.file_bytes})
        for row in rows:
            row["ratio vs ONNX"] = self.original_bytes / row["bytes"]
        return rows

    def __str__(self) -> str:
        lines = [f"{row['what']:<28s} {row['bytes']:>12,d} bytes  ({row['ratio vs ONNX']:.2f}x)" for row in self.rows()]
        lines.append(f"weights: {self.weight_count:,} quantized; coded {self.coded_bits_per_weight:.4f} bits/weight vs "
                     f"entropy estimate {self.entropy_bits_per_weight:.4f} ({100 * self.coding_overhead:+.2f}%)")
        return "\n".join(lines)


def compress_model(model, quantizer, output, roles=("conv_weight", "gemm_weight"),
                   include_biases: bool = False, compare_general_purpose: bool = False) -> CompressionReport:
    """Quantize ``model``'s weights with ``quantizer`` and write them entropy-coded to ``output``.

    The file holds the ONNX graph (quantized tensors' data removed), every quantized tensor's
    symbols coded with :mod:`edgequant.coding`, and what decoding needs (the quantizer's spec
    and fitted state). :func:`decompress_model` restores an ONNX whose weights — and so outputs
    — equal :func:`edgequant.model.quantize_weights`'s model bit for bit.

    Parameters
    ----------
    model : path-like, bytes or onnx.ModelProto
    quantizer : Quantizer or edgequant.model.PerChannelAffine
        E.g. ``Deadzone(levels=512, delta=0.7)``; applied per tensor (a fresh copy each, so
        ``xmax="max"`` and per-channel affine fit every tensor; the fitted state is stored).
    output : path-like
        The ``.eqz`` file to write (its folder must exist).
    roles, include_biases
        Which tensors are quantized (as :func:`edgequant.model.quantize_weights`).
    compare_general_purpose : bool
        Also compress the original ONNX with ``xz -9e`` and ``zstd -19`` for the report (by far
        the slowest and most memory-hungry part for a large model: xz -9e alone takes ~0.7 GB);
        otherwise (the default) those sizes are None.
    """
    from ..model.quantize import check_quantizer, encode_selection
    from ..model.selection import select_weights
    from ..onnx.loader import load_model_and_files

    check_quantizer(quantizer)
    output = pathlib.Path(output)
    if not output.parent.is_dir():
        raise FileNotFoundError(f"cannot write {str(output)!r}: no folder {str(output.parent)!r}")
    # One walk over the weights: encode the selected tensors, then drop their values from the
    # loaded model (it becomes the file's graph). The caller's own ModelProto is never edited.
    loaded = load_model_and_files(model)
    graph = loaded.model
    if graph is model:
        graph = onnx.ModelProto()
        graph.CopyFrom(model)
    selection = select_weights(graph, roles, include_biases, loaded.description)
    original_bytes = _serialized_size(model, loaded)
    original = graph.SerializeToString() if compare_general_purpose else None
    encoded = encode_selection(selection, quantizer, consume=True)  # frees each float tensor once encoded
    del selection
    coded = [CodedTensor(name, symbols, encoded.quantizers[name].spec(), encoded.quantizers[name].decode_state())
             for name, symbols in encoded.symbols.items()]
    packed = pack_model(graph, coded, f"edgequant {__version__}", encoded.entropy)
    output.write_bytes(packed.data)
    return CompressionReport(
        path=output, file_bytes=len(packed.data), original_bytes=original_bytes, weight_count=encoded.weight_count,
        coded_bytes=packed.coded_bytes, coded_bits_per_weight=8 * packed.coded_bytes / encoded.weight_count,
        entropy_bits_per_weight=encoded.entropy,
        xz_bytes=len(lzma.compress(original, preset=9 | lzma.PRESET_EXTREME)) if compare_general_purpose else None,
        zstd_bytes=_zstd_size(original) if compare_general_purpose else None)


def _serialized_size(source, loaded) -> int:
    """Bytes of the model serialized: the file's or the bytes' own size where they hold the whole
    model (protobuf's ByteSize() of a large model costs about twice its size in memory)."""
    if not loaded.external_files:
        if loaded.model_file is not None:
            return loaded.model_file.stat().st_size
        if isinstance(source, (bytes, bytearray, memoryview)):
            return len(source)
    return loaded.model.ByteSize()


def decompress_model(source) -> onnx.ModelProto:
    """Read an ``.eqz`` file (path or bytes) and return the restored ONNX model.

    Everything the file declares is checked before it is used: the header field by field, the
    size of the restored model (graph and tensors: one protobuf message, at most 2 GiB), and each
    symbol stream's length against the shapes of the tensors it holds before it is decoded.

    Raises
    ------
    edgequant.coding.CorruptDataError (a ValueError)
        Truncated, corrupted, inconsistent or not an .eqz file; a newer format version; a
        model that would restore to more than 2 GiB.
    """
    from ..model.tensor_slots import TensorSlots

    if isinstance(source, (bytes, bytearray, memoryview)):
        data, label = bytes(source), "the data"
    else:
        path = pathlib.Path(source)
        data, label = path.read_bytes(), str(path)
    container = read_container(data, label)
    model = onnx.ModelProto()
    try:
        model.ParseFromString(container.graph)
    except Exception as error:  # protobuf's DecodeError, RecursionError on deep nesting
        raise CorruptDataError(f"{label}: the embedded ONNX graph does not parse ({error})") from None
    slots = TensorSlots(model)
    tensors = container.header.tensors
    for entry in tensors:
        why = slots.why_not_rewritable(entry.name)
        if why is not None:
            raise CorruptDataError(f"{label}: tensor {entry.name!r} is not in the embedded graph ({why})")
        proto = slots.proto(entry.name)
        if entry.shape != tuple(proto.dims) or proto.data_type not in _FLOAT_BYTES:
            raise CorruptDataError(f"{label}: tensor {entry.name!r} of shape {entry.shape} does not match the "
                                   "graph's float tensor")
    check_restored_bytes(len(container.graph) + sum(entry.size * _FLOAT_BYTES[slots.proto(entry.name).data_type]
                                                    for entry in tensors), label)
    decoded = [_decode_stream(stream, index, [t for t in tensors if t.stream == index], label)
               for index, stream in enumerate(container.streams)]
    for entry in tensors:
        symbols = decoded[entry.stream][entry.offset:entry.offset + entry.size].reshape(entry.shape)
        try:
            quantizer = from_spec(entry.spec)
            quantizer.load_decode_state(entry.state)
            slots.write(entry.name, quantizer.decode(symbols))
        except (ValueError, TypeError) as error:
            raise CorruptDataError(f"{label}: tensor {entry.name!r} cannot be decoded ({error})") from None
    return model


#: The float types a restored tensor may have, and the bytes of one value.
_FLOAT_BYTES = {onnx.TensorProto.FLOAT: 4, onnx.TensorProto.FLOAT16: 2, onnx.TensorProto.DOUBLE: 8,
                onnx.TensorProto.BFLOAT16: 2}


def _decode_stream(stream: bytes, index: int, tensors: list, label: str) -> np.ndarray:
    """Decode symbol stream ``index`` after checking that it holds exactly what its tensors need."""
    needed = max((t.offset + t.size for t in tensors), default=0)
    declared = coding.stream_info(stream).symbol_count
    if declared != needed:
        raise CorruptDataError(f"{label}: symbol stream {index} declares {declared} symbols, its tensors "
                               f"need {needed}")
    return coding.decode(stream, max_symbols=needed)


def _zstd_size(data: bytes) -> int | None:
    """Size after zstd level 19 (the ``zstandard`` package, else the ``zstd`` tool); None if neither."""
    try:
        import zstandard
    except ImportError:
        tool = shutil.which("zstd")
        if tool is None:
            return None
        result = subprocess.run([tool, "-19", "-c", "-q"], input=data, capture_output=True, check=True)
        return len(result.stdout)
    return len(zstandard.ZstdCompressor(level=19).compress(data))


