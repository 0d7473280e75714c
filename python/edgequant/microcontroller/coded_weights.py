"""``--coded-weights``: each layer's int8 filter rANS-coded in flash (``edgequant.coding``), decoded
into an arena scratch buffer just before the layer runs (``eq_rans_decode_s8``). Flash shrinks by
the entropy of the weights; RAM grows by the largest decoded filter, time by the decode."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .codegen import c_array
from .weights import PlainWeights


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
        """Split a stream from :func:`edgequant.coding.encode` (format: cpp/coding/symbol_stream.h),
        read and validated by the C++ stream reader (one parser of the format on the host)."""
        from .. import _core

        layout = _core.coding_layout(np.frombuffer(stream, np.uint8))  # ValueError on a bad stream
        freqs = layout["freqs"].astype(np.uint64)
        starts = np.concatenate([[0], np.cumsum(freqs)]).astype(np.uint32)
        return cls(int(layout["symbol_count"]), int(layout["block_symbols"]), int(layout["scale_bits"]),
                   int(layout["raw_bits"]), layout["symbols"].astype(np.int32), starts, bool(layout["has_escape"]),
                   int(layout["escape_base"]), layout["block_rans_bytes"].astype(np.uint32),
                   layout["block_escape_bytes"].astype(np.uint32), bytes(stream[int(layout["payload_offset"]):]))


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
