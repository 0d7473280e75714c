"""The ``.eqz`` byte format: entropy-coded quantized tensors plus the rest of the model, xz-compressed.

Layout (little-endian), format version 2::

    offset  size  field
    0       4     magic b"EQZ1"
    4       2     format version (2); a newer file is refused with a clear message
    6       2     flags (0; reserved)
    8       4     length M of the metadata block
    12      4     CRC-32 of the metadata block
    16      M     metadata: one xz stream of [u32 H][H bytes: UTF-8 JSON header][the ONNX graph]
    16+M    ...   the symbol streams (edgequant.coding), in header order

The JSON header is {"producer", "graph": {"length", "crc32", "raw_length"}, "streams": [{"length",
"crc32"}, ...], "tensors": [{"name", "shape", "spec", "state", "stream", "offset"}, ...], "stats"}.
``graph.length`` and ``graph.crc32`` describe the serialized ONNX model, quantized tensors' data
removed (everything else, non-weight constants included, is left to xz). Tensor t's symbols are
``prod(shape)`` symbols from ``offset`` in stream ``stream`` (one stream per tensor, or all tensors
pooled in one when that is smaller).

Version 1 (still read) stored the JSON header (length H at offset 8, its CRC at 12) and the graph
uncompressed. The file's length must be exactly the sum of its parts, so truncation and trailing
bytes are both detected; every part has its own CRC-32, the coder streams carry their own
checksums, and nothing expands beyond the lengths the checked header declares.
"""

from __future__ import annotations

import lzma
import struct
import zlib
from dataclasses import dataclass

from ..coding import CorruptDataError
from .header import MAX_PART_BYTES, Header, parse_header

#: The first four bytes of every ``.eqz`` file.
MAGIC = b"EQZ1"
#: The ``.eqz`` format version this package writes (and the newest it reads).
VERSION = 2
_PREAMBLE = struct.Struct("<4sHHII")
_HEADER_LENGTH = struct.Struct("<I")
_XZ_PRESET = 9 | lzma.PRESET_EXTREME
#: Largest JSON header a file may hold once decompressed.
MAX_HEADER_BYTES = 1 << 26


@dataclass
class Container:
    header: Header
    graph: bytes
    streams: list[bytes]


def write_container(header: dict, graph: bytes, streams: list[bytes]) -> bytes:
    """Serialize ``header`` (its "graph" and "streams" entries are filled in here), the graph and the streams."""
    import json

    header = dict(header)
    header["graph"] = {"length": len(graph), "crc32": zlib.crc32(graph), "raw_length": len(graph)}
    header["streams"] = [{"length": len(stream), "crc32": zlib.crc32(stream)} for stream in streams]
    encoded = json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8")
    metadata = lzma.compress(_HEADER_LENGTH.pack(len(encoded)) + encoded + graph, preset=_XZ_PRESET,
                             check=lzma.CHECK_NONE)
    preamble = _PREAMBLE.pack(MAGIC, VERSION, 0, len(metadata), zlib.crc32(metadata))
    return b"".join([preamble, metadata, *streams])


def read_container(data: bytes, source: str = "the file") -> Container:
    """Parse and verify every length and checksum; CorruptDataError (a ValueError) if anything is off."""
    view = memoryview(data)
    if len(view) < _PREAMBLE.size:
        raise CorruptDataError(f"{source} is truncated ({len(view)} bytes): not an .eqz file")
    magic, version, flags, block_length, block_crc = _PREAMBLE.unpack_from(view)
    if magic != MAGIC:
        raise CorruptDataError(f"{source} is not an .eqz file (magic {bytes(magic)!r})")
    if version > VERSION:
        raise CorruptDataError(f"{source} has .eqz format version {version}; this edgequant reads up to "
                               f"{VERSION} — a newer edgequant may read it")
    if version < 1 or flags != 0:
        raise CorruptDataError(f"{source}: unknown .eqz version/flags ({version}, {flags})")
    start = _PREAMBLE.size
    block = bytes(view[start:start + block_length])
    if len(block) != block_length:
        raise CorruptDataError(f"{source} is truncated inside its header")
    if zlib.crc32(block) != block_crc:
        raise CorruptDataError(f"{source}: header checksum mismatch (corrupted)")
    offset = start + block_length
    if version == 1:
        header = parse_header(block, source, version)
        graph_bytes = header.graph.length
    else:
        metadata = _Expander(block, source)
        (length,) = _HEADER_LENGTH.unpack(metadata.take(_HEADER_LENGTH.size, "the header length"))
        if length > MAX_HEADER_BYTES:
            raise CorruptDataError(f"{source}: the header declares {length} bytes (at most {MAX_HEADER_BYTES})")
        header = parse_header(metadata.take(length, "the header"), source, version)
        graph_bytes = 0
    expected = offset + graph_bytes + sum(part.length for part in header.streams)
    if len(view) != expected:
        what = "truncated" if len(view) < expected else "followed by unexpected bytes"
        raise CorruptDataError(f"{source} is {what}: {len(view)} bytes, the header describes {expected}")
    if version == 1:
        graph = bytes(view[offset:offset + graph_bytes])
        offset += graph_bytes
    else:
        if header.graph.length != header.graph_raw_length:
            raise CorruptDataError(f"{source}: malformed header (graph lengths differ)")
        graph = metadata.take(header.graph.length, "the graph")
        metadata.finish()
    if zlib.crc32(graph) != header.graph.crc32:
        raise CorruptDataError(f"{source}: graph checksum mismatch (corrupted)")
    streams = []
    for index, part in enumerate(header.streams):
        stream = bytes(view[offset:offset + part.length])
        if zlib.crc32(stream) != part.crc32:
            raise CorruptDataError(f"{source}: checksum mismatch in symbol stream {index} (corrupted)")
        streams.append(stream)
        offset += part.length
    return Container(header=header, graph=graph, streams=streams)


class _Expander:
    """Reads an xz stream piece by piece, never expanding more than asked for."""

    def __init__(self, data: bytes, source: str):
        self._decompressor = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
        self._pending = data
        self._source = source

    def take(self, size: int, what: str) -> bytes:
        if size > MAX_PART_BYTES:
            raise CorruptDataError(f"{self._source}: {what} declares {size} bytes")
        pieces, missing = [], size
        try:
            while missing > 0 and not self._decompressor.eof:
                piece = self._decompressor.decompress(self._pending, max_length=missing)
                self._pending = b""
                if not piece:
                    break
                pieces.append(piece)
                missing -= len(piece)
        except lzma.LZMAError as error:
            raise CorruptDataError(f"{self._source}: the metadata does not decompress ({error})") from None
        if missing:
            raise CorruptDataError(f"{self._source}: the metadata ends inside {what}")
        return b"".join(pieces)

    def finish(self) -> None:
        """The stream must end exactly here."""
        try:
            if not self._decompressor.eof and self._decompressor.decompress(self._pending, max_length=1):
                raise CorruptDataError(f"{self._source}: unexpected bytes after the graph in the metadata")
        except lzma.LZMAError as error:
            raise CorruptDataError(f"{self._source}: the metadata does not decompress ({error})") from None
        if not self._decompressor.eof or self._decompressor.unused_data:
            raise CorruptDataError(f"{self._source}: the metadata does not end where the graph ends")
