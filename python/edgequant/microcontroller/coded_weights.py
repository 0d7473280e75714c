"""``--coded-weights``: each layer's int8 filter rANS-coded in flash (``edgequant.coding``), decoded
into an arena scratch buffer just before the layer runs (``eq_rans_decode_s8``). Flash shrinks by
the entropy of the weights; RAM grows by the largest decoded filter, time by the decode."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from .codegen import c_array
from .weights import PlainWeights


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _zigzag(value: int) -> int:
    return (value >> 1) ^ -(value & 1)


@dataclass
class CodedStream:
    """A coded stream split into what the C decoder reads (see ``eq_rans_stream``)."""

    symbol_count: int
    block_symbols: int
    scale_bits: int
    raw_bits: int
    symbols: np.ndarray  # int32, directly coded values
    starts: np.ndarray  # uint32, entries + 1
    has_escape: bool
    escape_base: int
    rans_bytes: np.ndarray  # uint32 per block
    escape_bytes: np.ndarray
    data: bytes

    @property
    def flash_bytes(self) -> int:
        return (len(self.data) + self.symbols.nbytes + self.starts.nbytes + self.rans_bytes.nbytes
                + self.escape_bytes.nbytes + 48)  # + the parameter block

    @classmethod
    def parse(cls, stream: bytes) -> CodedStream:
        """Split a stream from :func:`edgequant.coding.encode` (format: cpp/coding/symbol_stream.h)."""
        if stream[:4] != b"EQRS" or stream[4] != 1:
            raise ValueError("not a version-1 edgequant coded stream")
        has_escape = bool(stream[5] & 1)
        count, block_symbols = struct.unpack_from("<QI", stream, 8)
        pos = 40
        scale_bits, raw_bits = stream[pos], stream[pos + 1]
        table_symbols, pos = _varint(stream, pos + 2)
        symbols = []
        if table_symbols:
            first, pos = _varint(stream, pos)
            symbols.append(_zigzag(first))
        for _ in range(table_symbols - 1):
            gap, pos = _varint(stream, pos)
            symbols.append(symbols[-1] + gap + 1)
        freqs = []
        for _ in range(table_symbols + has_escape):
            freq, pos = _varint(stream, pos)
            freqs.append(freq + 1)
        escape_base = 0
        if has_escape:
            zz, pos = _varint(stream, pos)
            escape_base = _zigzag(zz)
        blocks = -(-count // block_symbols) if count else 0
        directory = np.frombuffer(stream, "<u4", 2 * blocks, pos).reshape(blocks, 2)
        pos += 8 * blocks
        starts = np.concatenate([[0], np.cumsum(freqs)]).astype(np.uint32)
        if int(starts[-1]) != 1 << scale_bits:
            raise ValueError("coded stream: frequencies do not sum to 2^scale_bits")
        return cls(int(count), int(block_symbols), int(scale_bits), int(raw_bits), np.array(symbols, np.int32), starts,
                   has_escape, int(escape_base), directory[:, 0].astype(np.uint32), directory[:, 1].astype(np.uint32),
                   bytes(stream[pos:]))


#: A layer is coded only if that saves at least this fraction of its filter (each coded layer costs
#: an arena scratch buffer and decode time) ...
MIN_LAYER_SAVING = 0.10
#: ... and only if all coded layers together save more than the decoder's code (about 700 B of
#: Cortex-M4 Thumb-2) by this much.
MIN_TOTAL_SAVING_BYTES = 2048


class CodedWeights(PlainWeights):
    """Filters rANS-coded where that saves flash; everything else as plain const arrays."""

    def __init__(self, graph):
        from ..coding import decode, encode

        self.streams = {}
        for i, layer in enumerate(graph.layers):
            weights = layer.constants.get("filter")
            if weights is None or weights.size == 0:
                continue
            symbols = weights.reshape(-1).astype(np.int32)
            coded = encode(symbols)
            if not np.array_equal(decode(coded), symbols):  # pragma: no cover - the coder's own tests cover this
                raise RuntimeError(f"{layer.name}: the rANS coder did not round-trip the weights")
            stream = CodedStream.parse(coded)
            if stream.flash_bytes <= (1 - MIN_LAYER_SAVING) * weights.nbytes:
                self.streams[i] = stream
        saving = sum(graph.layers[i].constants["filter"].nbytes - s.flash_bytes for i, s in self.streams.items())
        if saving < MIN_TOTAL_SAVING_BYTES:
            self.streams = {}  # not worth the decoder

    def includes(self) -> str:
        return '#include "eq_rans_decode.h"\n' if self.streams else ""

    def scratch_bytes(self, graph) -> dict:
        return {i: graph.layers[i].constants["filter"].nbytes for i in self.streams}

    def definitions(self, index, layer, prefix) -> list:
        if index not in self.streams:
            return super().definitions(index, layer, prefix)
        s = self.streams[index]
        parts = [c_array(f"{prefix}_{name}", array) for name, array in layer.constants.items() if name != "filter"]
        parts += [c_array(f"{prefix}_filter_symbols", s.symbols), c_array(f"{prefix}_filter_starts", s.starts),
                  c_array(f"{prefix}_filter_rans_bytes", s.rans_bytes),
                  c_array(f"{prefix}_filter_escape_bytes", s.escape_bytes),
                  c_array(f"{prefix}_filter_coded", np.frombuffer(s.data, np.uint8))]
        parts.append(
            f"static const eq_rans_stream {prefix}_filter_stream = {{{s.symbol_count}, {s.block_symbols}, "
            f"{len(s.rans_bytes)}, {s.scale_bits}, {len(s.starts) - 1}, {int(s.has_escape)}, {s.escape_base}, "
            f"{s.raw_bits}, {prefix}_filter_symbols, {prefix}_filter_starts, {prefix}_filter_rans_bytes, "
            f"{prefix}_filter_escape_bytes, {prefix}_filter_coded}};\n")
        return parts

    def layer_constants(self, index, layer, prefix, plan):
        fetch, names = super().layer_constants(index, layer, prefix, plan)
        if index in self.streams:
            target = f"(edgequant_arena.bytes + {plan.scratch[index]})"
            fetch += (f"    if (eq_rans_decode_s8(&{prefix}_filter_stream, {target}) != 0) {{\n"
                      "        return -2;\n    }\n")
            names["filter"] = target
        return fetch, names

    def flash_bytes(self, graph) -> int:
        total = 0
        for i, layer in enumerate(graph.layers):
            for name, array in layer.constants.items():
                total += self.streams[i].flash_bytes if (name == "filter" and i in self.streams) else array.nbytes
        return total
