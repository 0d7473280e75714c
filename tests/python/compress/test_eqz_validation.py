"""A hostile .eqz: valid checksums around odd values must end in CorruptDataError, never another
exception, and nothing is decoded beyond what the header's shapes need (issue 9)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from eqz_files import build, parts, sealed

from edgequant import coding
from edgequant.coding import CorruptDataError
from edgequant.compress import compress_model, decompress_model
from edgequant.quantizers import Deadzone
from edgequant.zoo import model_path


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    path = tmp_path_factory.mktemp("eqz") / "m.eqz"
    compress_model(model_path(), Deadzone(64, 0.4, xmax="max"), path)
    return parts(path.read_bytes())


def test_the_builder_reproduces_a_valid_file(original):
    header, graph, streams = original
    decompress_model(build(json.dumps(sealed(header, graph, streams)), graph, streams))


def edited(original, edit) -> bytes:
    header, graph, streams = original
    header = sealed(header, graph, streams)
    text = edit(header)
    return build(text if isinstance(text, str) else json.dumps(header), graph, streams)


def tensor0(change):
    def edit(header):
        return change(header["tensors"][0])
    return edit


HOSTILE = {
    "infinity_offset": lambda h: json.dumps(h).replace('"offset":0', '"offset":Infinity', 1).replace(
        '"offset": 0', '"offset": Infinity', 1),
    "nan_offset": lambda h: json.dumps(h).replace('"offset": 0', '"offset": NaN', 1),
    "float_offset": tensor0(lambda t: t.update(offset=0.5)),
    "negative_offset": tensor0(lambda t: t.update(offset=-4)),
    "huge_shape": tensor0(lambda t: t.update(shape=[2 ** 70] + t["shape"][1:])),
    "huge_product": tensor0(lambda t: t.update(shape=[2 ** 30, 2 ** 30, 2 ** 30])),
    "negative_dim": tensor0(lambda t: t.update(shape=[-1] + t["shape"][1:])),
    "string_dim": tensor0(lambda t: t.update(shape=["8"] + t["shape"][1:])),
    "bool_dim": tensor0(lambda t: t.update(shape=[True] + t["shape"][1:])),
    "shape_not_a_list": tensor0(lambda t: t.update(shape=8)),
    "missing_spec": tensor0(lambda t: t.pop("spec")),
    "missing_name": tensor0(lambda t: t.pop("name")),
    "missing_stream": tensor0(lambda t: t.pop("stream")),
    "missing_tensors": lambda h: h.pop("tensors"),
    "missing_graph": lambda h: h.pop("graph"),
    "huge_graph": lambda h: h["graph"].update(length=2 ** 40, raw_length=2 ** 40),
    "graph_length_is_a_float": lambda h: h["graph"].update(length=1e3),
    "spec_is_a_number": tensor0(lambda t: t.update(spec=5)),
    "spec_params_a_list": tensor0(lambda t: t["spec"].update(params=[1, 2])),
    "spec_unknown_method": tensor0(lambda t: t["spec"].update(method="lloyd")),
    "spec_bad_levels": tensor0(lambda t: t["spec"]["params"].update(levels="many")),
    "state_is_a_list": tensor0(lambda t: t.update(state=[1])),
    "state_bad_xmax": tensor0(lambda t: t.update(state={"xmax": "big"})),
    "name_is_a_number": tensor0(lambda t: t.update(name=7)),
    "stream_out_of_range": tensor0(lambda t: t.update(stream=99)),
    "stream_is_a_string": tensor0(lambda t: t.update(stream="0")),
    "tensor_is_a_list": lambda h: h.update(tensors=[[1, 2]]),
    "tensors_is_a_dict": lambda h: h.update(tensors={"a": 1}),
    "duplicate_tensor": lambda h: h["tensors"].append(h["tensors"][0]),
    "streams_not_a_list": lambda h: h.update(streams=3),
    "header_is_a_list": lambda h: "[1, 2, 3]",
    "header_not_json": lambda h: "{not json",
    "deep_nesting": lambda h: "[" * 100_000 + "]" * 100_000,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_header_values_raise_corrupt_data_error(original, name):
    data = edited(original, HOSTILE[name])
    with pytest.raises(CorruptDataError):
        decompress_model(data)


def test_a_stream_longer_than_its_tensors_is_refused_before_decoding(original, monkeypatch):
    header, graph, streams = original
    needed = sum(int(np.prod(t["shape"])) for t in header["tensors"] if t["stream"] == 0)
    bomb = coding.encode(np.zeros(64 * needed, np.int32))  # tiny, decodes to 64x what the shapes hold
    decoded = []
    monkeypatch.setattr(coding, "decode", lambda data, **kw: decoded.append(len(data)))
    data = build(json.dumps(sealed(header, graph, [bomb, *streams[1:]])), graph, [bomb, *streams[1:]])
    with pytest.raises(CorruptDataError, match="stream 0 declares"):
        decompress_model(data)
    assert decoded == []


def test_a_stream_shorter_than_its_tensors_is_refused(original):
    header, graph, streams = original
    short = coding.encode(np.zeros(3, np.int32))
    data = build(json.dumps(sealed(header, graph, [short, *streams[1:]])), graph, [short, *streams[1:]])
    with pytest.raises(CorruptDataError):
        decompress_model(data)
