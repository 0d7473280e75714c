"""A tiny .eqz can declare gigabytes of weights: a coded stream of one repeated symbol costs a few
bytes per block whatever its length. The restored model is one protobuf message (2 GiB at most),
so a file restoring to more is refused before any symbol is decoded (issue 22: a 5 KB forgery of
one 2^29-value weight used ~6 GB and crashed inside protobuf)."""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import onnx
import pytest
from eqz_files import build, parts, sealed

from edgequant import coding
from edgequant.coding import CorruptDataError
from edgequant.compress import compress_model, decompress_model
from edgequant.quantizers import Deadzone
from edgequant.zoo import model_path

_BLOCK_SYMBOLS = 1 << 22  # the largest block the coded format allows


def zero_stream(count: int) -> bytes:
    """A valid coded stream of ``count`` zero symbols, built without holding them in memory.

    A block of zeros codes to the same few bytes whatever its length (the rANS state never
    moves), so the blocks of a real stream are repeated and the header's counts and CRCs redone.
    """
    sample = coding.encode(np.zeros(_BLOCK_SYMBOLS, np.int32))
    info = coding.stream_info(sample)
    payload = sample[coding.HEADER_BYTES:]
    table = payload[:info.table_bytes]
    directory_entry = payload[info.table_bytes:info.table_bytes + 8]
    block = payload[info.table_bytes + info.directory_bytes:][:info.rans_bytes // info.blocks]
    blocks = -(-count // _BLOCK_SYMBOLS)
    payload = table + directory_entry * blocks + block * blocks
    symbols_crc, zeros = 0, bytes(1 << 24)
    for start in range(0, 4 * count, len(zeros)):
        symbols_crc = zlib.crc32(memoryview(zeros)[:min(len(zeros), 4 * count - start)], symbols_crc)
    head = struct.pack("<4sBBHqIIqI", b"EQRS", 1, 0, 0, count, _BLOCK_SYMBOLS, symbols_crc, len(payload),
                       zlib.crc32(payload))
    return head + struct.pack("<I", zlib.crc32(head)) + payload


def test_the_forged_stream_is_valid():
    stream = zero_stream(3 * _BLOCK_SYMBOLS + 5)
    assert coding.stream_info(stream).symbol_count == 3 * _BLOCK_SYMBOLS + 5
    decoded = coding.decode(stream)
    assert decoded.size == 3 * _BLOCK_SYMBOLS + 5 and not decoded.any()


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    path = tmp_path_factory.mktemp("eqz") / "m.eqz"
    compress_model(model_path(), Deadzone(64, 0.4, xmax="max"), path)
    return parts(path.read_bytes())


def forged(original, shapes: dict[str, list[int]], data_type=onnx.TensorProto.FLOAT) -> bytes:
    """The file with the named tensors re-declared (header and graph) as ``shapes``, one zero stream each."""
    header, graph, _ = original
    model = onnx.ModelProto.FromString(graph)
    for initializer in model.graph.initializer:
        if initializer.name in shapes:
            del initializer.dims[:]
            initializer.dims.extend(shapes[initializer.name])
            initializer.data_type = data_type
    graph = model.SerializeToString()
    header = json.loads(json.dumps(header))
    header["tensors"] = [t for t in header["tensors"] if t["name"] in shapes]
    streams = []
    for index, tensor in enumerate(header["tensors"]):
        tensor.update(shape=shapes[tensor["name"]], stream=index, offset=0)
        streams.append(zero_stream(int(np.prod(shapes[tensor["name"]], dtype=np.int64))))
    return build(json.dumps(sealed(header, graph, streams)), graph, streams)


@pytest.fixture
def decode_calls(monkeypatch):
    """Records every decode instead of running it, so a regression cannot allocate gigabytes."""
    calls = []
    monkeypatch.setattr(coding, "decode", lambda data, **kw: calls.append(len(data)))
    return calls


def test_one_weight_of_two_gib_is_refused_before_decoding(original, decode_calls):
    data = forged(original, {"0.weight": [1 << 29]})  # 2^29 float32 values: 2 GiB
    assert len(data) < 20_000
    with pytest.raises(CorruptDataError, match="restored model would take 2,147,4.* at most 2,147,483,647"):
        decompress_model(data)
    assert decode_calls == []


def test_weights_summing_past_two_gib_are_refused_before_decoding(original, decode_calls):
    data = forged(original, {"0.weight": [1 << 28], "3.weight": [1 << 28]})  # 1 GiB each, plus the graph
    with pytest.raises(CorruptDataError, match="restored model would take"):
        decompress_model(data)
    assert decode_calls == []


def test_the_header_alone_refuses_what_no_float_type_could_hold(original, monkeypatch):
    """2^30 values take 2 GiB even as float16: refused from the header, before the graph is expanded."""
    parsed = []
    monkeypatch.setattr(onnx.ModelProto, "ParseFromString", lambda self, data: parsed.append(len(data)))
    data = forged(original, {"0.weight": [1 << 30]}, onnx.TensorProto.FLOAT16)
    with pytest.raises(CorruptDataError, match="would take at least 2,147,4"):
        decompress_model(data)
    assert parsed == []


def test_a_half_precision_weight_under_the_limit_passes_the_size_check(original, decode_calls):
    """2^29 float16 values (1 GiB) fit: the check is by the graph's dtype, and decoding is reached."""
    data = forged(original, {"0.weight": [1 << 29]}, onnx.TensorProto.FLOAT16)
    with pytest.raises(TypeError):  # the recorder returns None instead of symbols: decoding was reached
        decompress_model(data)
    assert len(decode_calls) == 1
