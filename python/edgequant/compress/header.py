"""Validation of an ``.eqz`` file's JSON header: every field's presence, type and range.

A header passes its checksum and still comes from an untrusted file, so nothing in it is used
before this module has checked it; any failure is a :class:`~edgequant.coding.CorruptDataError`
naming the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..coding import CorruptDataError

#: Largest length a header may declare for one part.
MAX_PART_BYTES = 1 << 40
#: Largest graph (a protobuf message cannot exceed 2 GiB): bounds what the metadata may expand to.
MAX_GRAPH_BYTES = (1 << 31) - 1
#: Largest restored model: the graph plus every restored tensor is one protobuf message.
MAX_RESTORED_BYTES = MAX_GRAPH_BYTES
#: Fewest bytes one restored value takes (float16 / bfloat16): what the header alone can bound.
MIN_VALUE_BYTES = 2
#: Largest number of values one tensor may declare (a shape's product).
MAX_TENSOR_VALUES = 1 << 40
_MAX_RANK = 64


@dataclass(frozen=True)
class Part:
    """A stored part of the file: its length in bytes and CRC-32."""

    length: int
    crc32: int


@dataclass(frozen=True)
class TensorEntry:
    """Where a quantized tensor's symbols are and how to decode them."""

    name: str
    shape: tuple[int, ...]
    size: int
    spec: dict
    state: dict
    stream: int
    offset: int


@dataclass(frozen=True)
class Header:
    """A checked header."""

    graph: Part
    graph_raw_length: int | None  # v2: the graph's length once decompressed
    streams: list[Part]
    tensors: list[TensorEntry]
    raw: dict


def parse_header(text: bytes, source: str, version: int) -> Header:
    """Parse and check a header; CorruptDataError (a ValueError) naming the first problem."""
    def refuse_constant(name):
        raise ValueError(f"{name} is not allowed")

    try:
        raw = json.loads(text.decode("utf-8"), parse_constant=refuse_constant)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError and JSONDecodeError included
        raise CorruptDataError(f"{source}: the header is not valid JSON ({error})") from None
    fields = _Fields(source)
    fields.require(isinstance(raw, dict), "the header", "an object")
    graph = fields.part(fields.get(raw, "graph", dict), "graph")
    raw_length = None
    if version >= 2:
        raw_length = fields.integer(raw["graph"], "raw_length", "graph.raw_length", 0, MAX_GRAPH_BYTES)
    streams = [fields.part(entry, f"streams[{i}]") for i, entry in enumerate(fields.get(raw, "streams", list))]
    tensors = [fields.tensor(entry, f"tensors[{i}]", len(streams))
               for i, entry in enumerate(fields.get(raw, "tensors", list))]
    names = [tensor.name for tensor in tensors]
    if len(set(names)) != len(names):
        raise CorruptDataError(f"{source}: malformed header (a tensor is listed twice)")
    graph_bytes = raw_length if raw_length is not None else graph.length
    check_restored_bytes(graph_bytes + sum(MIN_VALUE_BYTES * tensor.size for tensor in tensors), source,
                         "at least ")
    return Header(graph=graph, graph_raw_length=raw_length, streams=streams, tensors=tensors, raw=raw)


def check_restored_bytes(restored: int, source: str, bound: str = "") -> None:
    """Refuse a file whose restored model could not be one protobuf message (2 GiB at most).

    A few kilobytes of coded symbols can declare gigabytes of weights (a stream of one repeated
    symbol costs almost nothing), so the size the model would have once restored is checked
    before anything is decoded or allocated.

    Parameters
    ----------
    restored : int
        Bytes of the restored model (graph plus tensors' values), or a lower bound of them.
    source : str
        The file, for the message.
    bound : str
        ``"at least "`` when ``restored`` is a lower bound.

    Raises
    ------
    CorruptDataError
        (a ValueError) If ``restored`` exceeds :data:`MAX_RESTORED_BYTES`.
    """
    if restored > MAX_RESTORED_BYTES:
        raise CorruptDataError(f"{source}: the restored model would take {bound}{restored:,} bytes; an ONNX "
                               f"model is one protobuf message of at most {MAX_RESTORED_BYTES:,} bytes (2 GiB)")


class _Fields:
    """Typed field access that raises CorruptDataError naming the field."""

    def __init__(self, source: str):
        self.source = source

    def require(self, condition: bool, field: str, expected: str) -> None:
        if not condition:
            raise CorruptDataError(f"{self.source}: malformed header: {field} must be {expected}")

    def get(self, mapping: dict, key: str, kind: type, field: str | None = None):
        field = field or key
        self.require(key in mapping, field, f"present (a {kind.__name__})")
        value = mapping[key]
        self.require(isinstance(value, kind) and not isinstance(value, bool), field, f"a {kind.__name__}")
        return value

    def integer(self, mapping: dict, key: str, field: str, low: int, high: int) -> int:
        value = self.get(mapping, key, int, field)
        self.require(low <= value <= high, field, f"an integer in [{low}, {high}]")
        return value

    def part(self, entry, field: str) -> Part:
        self.require(isinstance(entry, dict), field, "an object")
        return Part(length=self.integer(entry, "length", f"{field}.length", 0, MAX_PART_BYTES),
                    crc32=self.integer(entry, "crc32", f"{field}.crc32", 0, 0xFFFFFFFF))

    def tensor(self, entry, field: str, stream_count: int) -> TensorEntry:
        self.require(isinstance(entry, dict), field, "an object")
        name = self.get(entry, "name", str, f"{field}.name")
        shape = self.get(entry, "shape", list, f"{field}.shape")
        self.require(len(shape) <= _MAX_RANK, f"{field}.shape", f"at most {_MAX_RANK} dimensions")
        size = 1
        for axis, dim in enumerate(shape):
            self.require(isinstance(dim, int) and not isinstance(dim, bool) and 0 <= dim <= MAX_TENSOR_VALUES,
                         f"{field}.shape[{axis}]", f"an integer in [0, {MAX_TENSOR_VALUES}]")
            size *= dim
        self.require(size <= MAX_TENSOR_VALUES, f"{field}.shape", f"at most {MAX_TENSOR_VALUES} values")
        spec = self.get(entry, "spec", dict, f"{field}.spec")
        self.get(spec, "method", str, f"{field}.spec.method")
        if "params" in spec:
            self.get(spec, "params", dict, f"{field}.spec.params")
        state = self.get(entry, "state", dict, f"{field}.state") if "state" in entry else {}
        stream = self.integer(entry, "stream", f"{field}.stream", 0, max(stream_count - 1, 0))
        self.require(stream < stream_count, f"{field}.stream", "the index of a stream")
        offset = self.integer(entry, "offset", f"{field}.offset", 0, MAX_TENSOR_VALUES)
        return TensorEntry(name=name, shape=tuple(shape), size=size, spec=spec, state=state, stream=stream,
                           offset=offset)
