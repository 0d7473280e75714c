"""The engine reads external tensor data under edgequant.onnx's rules: only from inside the model's
folder, with offsets and lengths checked; each hostile file is refused by both loaders alike."""

import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgequant import Engine
from edgequant.onnx import load_model


def _model() -> onnx.ModelProto:
    """x [N, 2, 6, 6] -> Conv 3x3 (w, b) -> Relu -> Gemm (fc, transB=1) on the flattened map."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.normal(0, 0.5, (4, 2, 3, 3)).astype(np.float32), "w"),
             numpy_helper.from_array(rng.normal(0, 0.1, 4).astype(np.float32), "b"),
             numpy_helper.from_array(rng.normal(0, 0.2, (3, 64)).astype(np.float32), "fc")]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv"),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Flatten", ["r"], ["f"]),
             helper.make_node("Gemm", ["f", "fc"], ["y"], name="fc", transB=1)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 6, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _save_external(folder, location="weights.bin"):
    path = folder / "model.onnx"
    onnx.save_model(_model(), path, save_as_external_data=True, all_tensors_to_one_file=True, location=location,
                    size_threshold=0)
    return path


def _edit_entries(path, tensor, **entries):
    """Set external-data entries (location, offset, length) of one tensor of the model at ``path``."""
    model = onnx.load_model(path, load_external_data=False)
    proto = next(t for t in model.graph.initializer if t.name == tensor)
    known = {e.key: e for e in proto.external_data}
    for key, value in entries.items():
        if key in known:
            known[key].value = value
        else:
            proto.external_data.add(key=key, value=value)
    path.write_bytes(model.SerializeToString())


def test_engine_reads_external_data_and_exports_it(tmp_path):
    x = np.random.default_rng(1).random((3, 2, 6, 6), dtype=np.float32)
    (expected,) = Engine(_model()).run(x)
    (tmp_path / "data").mkdir()
    path = _save_external(tmp_path, location="data/weights.bin")
    assert not any(t.raw_data for t in onnx.load_model(path, load_external_data=False).graph.initializer)
    engine = Engine(path)
    np.testing.assert_array_equal(engine.run(x)[0], expected)
    cwd = os.getcwd()
    try:  # a relative path: the folder is the one the path names
        os.chdir(tmp_path)
        np.testing.assert_array_equal(Engine("model.onnx").run(x)[0], expected)
    finally:
        os.chdir(cwd)
    static = Engine(path, mode="static", calibration=x)
    static.save_quantized(tmp_path / "q.onnx")  # one self-contained QDQ file
    session = ort.InferenceSession(str(tmp_path / "q.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"x": x})[0], static.run(x)[0], atol=0.05 * np.abs(expected).max())


def test_bytes_with_external_data_are_refused_with_the_fix(tmp_path):
    path = _save_external(tmp_path)
    with pytest.raises(ValueError, match="'w': its data is in an external file.*load the model from its file"):
        Engine(path.read_bytes())


def _outside_file(folder):
    outside = folder.parent / "outside.bin"
    outside.write_bytes((folder / "weights.bin").read_bytes())
    return outside


def _absolute(folder, path):
    _edit_entries(path, "w", location=str(_outside_file(folder)))


def _climbing(folder, path):
    _outside_file(folder)
    _edit_entries(path, "w", location="sub/../../outside.bin")


def _symlink_out(folder, path):
    (folder / "link.bin").symlink_to(_outside_file(folder))
    _edit_entries(path, "w", location="link.bin")


def _folder_symlink_out(folder, path):
    _outside_file(folder)
    (folder / "up").symlink_to(folder.parent, target_is_directory=True)
    _edit_entries(path, "w", location="up/outside.bin")


#: Hostile edits of a model saved with external data, and what both loaders' errors say.
HOSTILE = {
    "absolute path": (_absolute, "is an absolute path"),
    "climbs out with ..": (_climbing, "escapes the model's folder"),
    "symlink out": (_symlink_out, "escapes the model's folder"),
    "folder symlink out": (_folder_symlink_out, "escapes the model's folder"),
    "missing file": (lambda folder, path: _edit_entries(path, "w", location="gone.bin"), "not found"),
    "empty location": (lambda folder, path: _edit_entries(path, "w", location=""), "not a usable file name"),
    "offset past the end": (lambda folder, path: _edit_entries(path, "fc", offset="100000"), "the file has only"),
    "length past the end": (lambda folder, path: _edit_entries(path, "fc", length="100000"), "the file has only"),
    "negative offset": (lambda folder, path: _edit_entries(path, "b", offset="-4"), "offset -4 is negative"),
    "offset not a number": (lambda folder, path: _edit_entries(path, "b", offset="x1"), "offset 'x1' is not an int"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_external_data_is_refused_by_both_loaders(tmp_path, case):
    edit, message = HOSTILE[case]
    folder = tmp_path / "model"
    folder.mkdir()
    path = _save_external(folder)
    edit(folder, path)
    with pytest.raises(ValueError, match=message):
        load_model(path)
    with pytest.raises(ValueError, match=message):
        Engine(path)
