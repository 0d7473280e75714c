"""The ``.eqz`` byte format: an ONNX graph plus entropy-coded quantized tensors.

Layout (little-endian)::

    offset  size  field
    0       4     magic b"EQZ1"
    4       2     format version (1); a newer file is refused with a clear message
    6       2     flags (0; reserved)
    8       4     header length H
    12      4     CRC-32 of the header
    16      H     header: UTF-8 JSON {"producer", "graph": {"length", "crc32"},
                  "streams": [{"length", "crc32"}, ...],
                  "tensors": [{"name", "shape", "spec", "state", "stream", "offset"}, ...], "stats"}
    16+H    G     the ONNX model, serialized, with the quantized tensors' data removed
    ...           the symbol streams (edgequant.coding), in header order; tensor t's symbols are
                  ``prod(shape)`` symbols from ``offset`` in stream ``stream`` (one stream per
                  tensor, or all tensors pooled in one when that is smaller)

The file's length must be exactly the sum of its parts, so truncation and trailing bytes are
both detected; every part has its own CRC-32 and the coder streams carry their own checksums.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass

from ..coding import CorruptDataError

MAGIC = b"EQZ1"
VERSION = 1
_PREAMBLE = struct.Struct("<4sHHII")


@dataclass
class Container:
    header: dict
    graph: bytes
    streams: list[bytes]


def write_container(header: dict, graph: bytes, streams: list[bytes]) -> bytes:
    """Serialize ``header`` (its "graph" and "streams" entries are filled in here), the graph and the streams."""
    header = dict(header)
    header["graph"] = {"length": len(graph), "crc32": zlib.crc32(graph)}
    header["streams"] = [{"length": len(stream), "crc32": zlib.crc32(stream)} for stream in streams]
    encoded = json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8")
    preamble = _PREAMBLE.pack(MAGIC, VERSION, 0, len(encoded), zlib.crc32(encoded))
    return b"".join([preamble, encoded, graph, *streams])


def read_container(data: bytes, source: str = "the file") -> Container:
    """Parse and verify every length and checksum; CorruptDataError (a ValueError) if anything is off."""
    view = memoryview(data)
    if len(view) < _PREAMBLE.size:
        raise CorruptDataError(f"{source} is truncated ({len(view)} bytes): not an .eqz file")
    magic, version, flags, header_length, header_crc = _PREAMBLE.unpack_from(view)
    if magic != MAGIC:
        raise CorruptDataError(f"{source} is not an .eqz file (magic {bytes(magic)!r})")
    if version > VERSION:
        raise CorruptDataError(f"{source} has .eqz format version {version}; this edgequant reads up to "
                               f"{VERSION} — a newer edgequant may read it")
    if version < 1 or flags != 0:
        raise CorruptDataError(f"{source}: unknown .eqz version/flags ({version}, {flags})")
    start = _PREAMBLE.size
    header_bytes = bytes(view[start:start + header_length])
    if len(header_bytes) != header_length:
        raise CorruptDataError(f"{source} is truncated inside its header")
    if zlib.crc32(header_bytes) != header_crc:
        raise CorruptDataError(f"{source}: header checksum mismatch (corrupted)")
    try:
        header = json.loads(header_bytes.decode("utf-8"))
        graph_info = header["graph"]
        lengths = [int(entry["length"]) for entry in header["streams"]]
        if any(length < 0 for length in lengths) or int(graph_info["length"]) < 0:
            raise ValueError("negative length")
    except (ValueError, KeyError, TypeError) as error:
        raise CorruptDataError(f"{source}: malformed header ({error})") from None
    offset = start + header_length
    expected = offset + int(graph_info["length"]) + sum(lengths)
    if len(view) != expected:
        what = "truncated" if len(view) < expected else "followed by unexpected bytes"
        raise CorruptDataError(f"{source} is {what}: {len(view)} bytes, the header describes {expected}")
    graph = bytes(view[offset:offset + int(graph_info["length"])])
    if zlib.crc32(graph) != graph_info.get("crc32"):
        raise CorruptDataError(f"{source}: graph checksum mismatch (corrupted)")
    offset += len(graph)
    streams = []
    for index, (entry, length) in enumerate(zip(header["streams"], lengths, strict=True)):
        stream = bytes(view[offset:offset + length])
        if zlib.crc32(stream) != entry.get("crc32"):
            raise CorruptDataError(f"{source}: checksum mismatch in symbol stream {index} (corrupted)")
        streams.append(stream)
        offset += length
    return Container(header=header, graph=graph, streams=streams)
