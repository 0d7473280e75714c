"""Taking .eqz files apart and putting them back together with any header, checksums valid:
the test helpers for hostile files (both format versions, so a test can run against older code)."""

from __future__ import annotations

import json
import lzma
import struct
import zlib

from edgequant.compress import VERSION


def parts(data: bytes) -> tuple[dict, bytes, list[bytes]]:
    """(header, graph, streams) of an .eqz file of either format version."""
    version, length = struct.unpack_from("<H", data, 4)[0], struct.unpack_from("<I", data, 8)[0]
    block = data[16:16 + length]
    if version == 1:
        header = json.loads(block)
        graph_length = header["graph"]["length"]
        graph, rest = data[16 + length:16 + length + graph_length], data[16 + length + graph_length:]
    else:
        metadata = lzma.decompress(block)
        (header_length,) = struct.unpack_from("<I", metadata)
        header = json.loads(metadata[4:4 + header_length])
        graph, rest = metadata[4 + header_length:], data[16 + length:]
    streams = []
    for entry in header["streams"]:
        streams.append(rest[:entry["length"]])
        rest = rest[entry["length"]:]
    return header, graph, streams


def build(header_text: str, graph: bytes, streams: list[bytes], version: int = VERSION) -> bytes:
    """An .eqz file with a header given as text (so it may hold anything), checksums all valid."""
    encoded = header_text.encode("utf-8")
    if version == 1:
        block = encoded + graph
        body = struct.pack("<4sHHII", b"EQZ1", 1, 0, len(encoded), zlib.crc32(encoded)) + block
        return body + b"".join(streams)
    block = lzma.compress(struct.pack("<I", len(encoded)) + encoded + graph)
    return struct.pack("<4sHHII", b"EQZ1", version, 0, len(block), zlib.crc32(block)) + block + b"".join(streams)


def sealed(header: dict, graph: bytes, streams: list[bytes]) -> dict:
    """``header`` with its graph and stream entries describing ``graph`` and ``streams``."""
    header = json.loads(json.dumps(header))
    header["graph"].update(length=len(graph), crc32=zlib.crc32(graph))
    if "raw_length" in header["graph"]:
        header["graph"]["raw_length"] = len(graph)
    header["streams"] = [{"length": len(s), "crc32": zlib.crc32(s)} for s in streams]
    return header
