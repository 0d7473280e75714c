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
from .container import read_container, write_container

_DATA_FIELDS = ("raw_data", "float_data", "int32_data", "int64_data", "double_data", "uint64_data", "string_data")


@dataclass
class CompressionReport:
    """Sizes of an ``.eqz`` file against its entropy estimate and general-purpose compressors.

    ``coded_bits_per_weight`` counts the coder streams (tables and stream headers included)
    over the quantized weights; ``entropy_bits_per_weight`` is the estimate ``Σ n_t·H_t / Σ n_t``
    of the same tensors; ``file_bytes`` adds the ONNX graph and the JSON header.
    """

    path: pathlib.Path
    file_bytes: int
    original_bytes: int
    weight_count: int
    coded_bytes: int
    coded_bits_per_weight: float
    entropy_bits_per_weight: float
    xz_bytes: int
    zstd_bytes: int | None

    @property
    def coding_overhead(self) -> float:
        """coded / entropy − 1: how far the real coder is from the ideal estimate."""
        return self.coded_bits_per_weight / self.entropy_bits_per_weight - 1 if self.entropy_bits_per_weight else 0.0

    def rows(self) -> list[dict]:
        rows = [{"what": "original ONNX", "bytes": self.original_bytes},
                {"what": "xz -9e of the ONNX", "bytes": self.xz_bytes}]
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


def _strip_data(proto: onnx.TensorProto) -> None:
    for name in _DATA_FIELDS:
        proto.ClearField(name)


def compress_model(model, quantizer, output, roles=("conv_weight", "gemm_weight"),
                   include_biases: bool = False) -> CompressionReport:
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
    """
    from ..model import quantize_weights
    from ..onnx.loader import load_model_and_files

    output = pathlib.Path(output)
    if not output.parent.is_dir():
        raise FileNotFoundError(f"cannot write {str(output)!r}: no folder {str(output.parent)!r}")
    loaded = load_model_and_files(model)
    original = loaded.model.SerializeToString()
    quantized = quantize_weights(loaded.model, quantizer, roles=roles, include_biases=include_biases)
    graph = onnx.ModelProto()
    graph.CopyFrom(quantized.model)
    protos = {t.name: t for t in graph.graph.initializer}
    for node in graph.graph.node:
        if node.op_type == "Constant" and node.output:
            for attribute in node.attribute:
                if attribute.name == "value":
                    protos.setdefault(node.output[0], attribute.t)
    names = list(quantized.symbols)
    for name in names:
        _strip_data(protos[name])
    streams, placement = _smallest_layout([quantized.symbols[name] for name in names])
    entries = [{"name": name, "shape": list(quantized.symbols[name].shape), "spec": quantized.quantizers[name].spec(),
                "state": quantized.quantizers[name].decode_state(), "stream": stream, "offset": offset}
               for name, (stream, offset) in zip(names, placement, strict=True)]
    header = {"producer": f"edgequant {__version__}", "tensors": entries,
              "stats": {"weight_count": quantized.weight_count, "entropy_bits_per_weight": quantized.entropy}}
    data = write_container(header, graph.SerializeToString(), streams)
    output.write_bytes(data)
    coded = sum(len(s) for s in streams)
    return CompressionReport(
        path=output, file_bytes=len(data), original_bytes=len(original), weight_count=quantized.weight_count,
        coded_bytes=coded, coded_bits_per_weight=8 * coded / quantized.weight_count,
        entropy_bits_per_weight=quantized.entropy,
        xz_bytes=len(lzma.compress(original, preset=9 | lzma.PRESET_EXTREME)), zstd_bytes=_zstd_size(original))


def _smallest_layout(symbols: list[np.ndarray]) -> tuple[list[bytes], list[tuple[int, int]]]:
    """Code the tensors one stream each, and all pooled in one; keep the smaller.

    Separate streams fit each tensor's own statistics; one pooled stream pays a single header
    and table, which wins for small models whose tensors share an alphabet.
    """
    separate = [coding.encode(codes) for codes in symbols]
    flat = [codes.reshape(-1) for codes in symbols]
    pooled = coding.encode(np.concatenate(flat))
    if len(symbols) > 1 and len(pooled) < sum(len(s) for s in separate):
        offsets = np.concatenate([[0], np.cumsum([f.size for f in flat])[:-1]]).tolist()
        return [pooled], [(0, int(offset)) for offset in offsets]
    return separate, [(index, 0) for index in range(len(symbols))]


def decompress_model(source) -> onnx.ModelProto:
    """Read an ``.eqz`` file (path or bytes) and return the restored ONNX model.

    Everything the file declares is checked before it is used: the header field by field, and
    each symbol stream's length against the shapes of the tensors it holds before it is decoded.

    Raises
    ------
    edgequant.coding.CorruptDataError (a ValueError)
        Truncated, corrupted, inconsistent or not an .eqz file; a newer format version.
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
        if entry.shape != tuple(proto.dims) or proto.data_type not in _FLOAT_TYPES:
            raise CorruptDataError(f"{label}: tensor {entry.name!r} of shape {entry.shape} does not match the "
                                   "graph's float tensor")
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


_FLOAT_TYPES = {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.DOUBLE,
                onnx.TensorProto.BFLOAT16}


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


