"""Hypothesis fuzzers for the coder and the .eqz file (issue 9): mutated inputs, checksums
re-sealed so the parsers themselves are exercised, must decode exactly or raise
CorruptDataError — never another exception, a crash or an unbounded allocation.

EDGEQUANT_FUZZ_EXAMPLES=N runs N examples per fuzzer (default 150, the CI budget).
"""

from __future__ import annotations

import functools
import json
import os
import pathlib
import struct
import tempfile
import zlib

import numpy as np
from eqz_files import build, parts, sealed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgequant import coding
from edgequant.coding import CorruptDataError
from edgequant.compress import compress_model, decompress_model
from edgequant.quantizers import Affine, Deadzone
from edgequant.zoo import model_path

EXAMPLES = int(os.environ.get("EDGEQUANT_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

_rng = np.random.default_rng(0)
SEEDS = [np.rint(_rng.laplace(0, 3, 2000)).astype(np.int32),                     # lookup-table decoder
         np.where(np.arange(1500) % 11 == 0, _rng.integers(-2**31, 2**31 - 1, 1500), 3).astype(np.int32),  # escapes
         np.arange(30000, dtype=np.int32) // 2 * 7919,                             # large table, binary search
         np.full(4000, -3, np.int32)]                                              # no rANS words at all
CODED = [coding.encode(s) for s in SEEDS]


def reseal(data: bytearray) -> None:
    """Recompute a coded stream's payload and header checksums after an edit."""
    if len(data) >= 40:
        struct.pack_into("<I", data, 32, zlib.crc32(bytes(data[40:])))
        struct.pack_into("<I", data, 36, zlib.crc32(bytes(data[:36])))


@st.composite
def mutated_stream(draw):
    index = draw(st.integers(0, len(SEEDS) - 1))
    data = bytearray(CODED[index])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["set", "flip", "truncate", "insert", "field"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if kind == "set":
            data[at] = draw(st.integers(0, 255))
        elif kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:  # an extreme value in a header field
            offset = draw(st.sampled_from([8, 16, 24]))
            width = 4 if offset == 16 else 8
            value = draw(st.sampled_from([0, 1, 4, 2**22, 2**31, 2**32 - 1, 2**62, 2**64 - 1])) % (1 << 8 * width)
            if offset + width <= len(data):
                data[offset:offset + width] = value.to_bytes(width, "little")
    if draw(st.booleans()):
        reseal(data)
    return index, bytes(data)


@FUZZ
@given(mutated_stream())
def test_coder_fuzz(case):
    index, data = case
    limit = 4 * SEEDS[index].size
    try:
        decoded = coding.decode(data, max_symbols=limit)
    except CorruptDataError:
        return
    np.testing.assert_array_equal(decoded, SEEDS[index])


@functools.cache
def eqz_parts() -> list:
    """(header, graph, streams) of two .eqz files of the default model: one stream per tensor with
    a range state, and per-channel affine (lists of scales) — not a fixture, so hypothesis never
    prints it."""
    files = []
    with tempfile.TemporaryDirectory() as folder:
        for name, quantizer in (("dz", Deadzone(64, 0.4, xmax="max")), ("affine", Affine(4, axis=0))):
            path = pathlib.Path(folder) / f"{name}.eqz"
            compress_model(model_path(), quantizer, path)
            files.append(parts(path.read_bytes()))
    return files


JSON_VALUES = st.one_of(
    st.integers(-2**70, 2**70), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6), st.none(),
    st.booleans(), st.lists(st.integers(-5, 5), max_size=4),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2))


def leaves(value, path=()):
    """Every (path, value) of a JSON document, containers included."""
    yield path, value
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield from leaves(child, (*path, key))


#: One edit: (kind, where, replacement value, replacement byte). Every choice is drawn up front, so
#: what is drawn never depends on the file being edited (hypothesis replays need that).
EDITS = st.lists(st.tuples(st.sampled_from(["replace", "delete", "graph", "stream"]), st.integers(0, 2**20),
                           JSON_VALUES, st.integers(0, 255)), min_size=1, max_size=3)


def mutated_eqz(files, which: int, edits, reseal_graph: bool) -> bytes:
    """The .eqz ``files[which]`` with ``edits`` applied, checksums re-sealed where the header has room."""
    header, graph, streams = files[which % len(files)]
    header = sealed(header, graph, streams)
    graph, streams = bytearray(graph), [bytearray(s) for s in streams]
    for kind, where, value, byte in edits:
        paths = [p for p, _ in leaves(header) if p]
        path = paths[where % len(paths)]
        parent = header
        for key in path[:-1]:
            parent = parent[key]
        if kind == "replace":
            parent[path[-1]] = json.loads(json.dumps(value))  # a copy: later edits must not reach hypothesis' value
        elif kind == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif kind == "graph":
            graph[where % len(graph)] = byte
        elif kind == "stream" and streams:
            target = streams[where % len(streams)]
            target[(where // 7) % len(target)] = byte
            reseal(target)
    if isinstance(header.get("graph"), dict) and reseal_graph:
        header["graph"]["crc32"] = zlib.crc32(graph)
    if isinstance(header.get("streams"), list) and len(header["streams"]) == len(streams):
        for entry, stream in zip(header["streams"], streams, strict=True):
            if isinstance(entry, dict):
                entry["crc32"] = zlib.crc32(stream)
    return build(json.dumps(header), bytes(graph), [bytes(s) for s in streams])


@FUZZ
@given(which=st.integers(0, 1), edits=EDITS, reseal_graph=st.booleans())
def test_eqz_fuzz(which, edits, reseal_graph):
    blob = mutated_eqz(eqz_parts(), which, edits, reseal_graph)
    try:
        decompress_model(blob)
    except CorruptDataError:
        pass
