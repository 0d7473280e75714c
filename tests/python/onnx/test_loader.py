"""load_model: external data only from the model's folder; broken files give ValueError."""

import os

import numpy as np
import onnx
import pytest
from onnx_model_builders import conv_model

from edgequant.onnx import ExternalDataNotFoundError, load_model, weights


def save_with_external_data(model, folder, location="weights.bin"):
    path = folder / "model.onnx"
    onnx.save_model(
        model, path, save_as_external_data=True, all_tensors_to_one_file=True,
        location=location, size_threshold=0,
    )  # fmt: skip
    return path


def set_locations(path, location):
    """Rewrite every external location of the model at ``path`` (keeping data external)."""
    model = onnx.load_model(path, load_external_data=False)
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = location
    path.write_bytes(model.SerializeToString())


def test_loads_path_bytes_and_modelproto_alike(tmp_path):
    model = conv_model()
    path = tmp_path / "m.onnx"
    onnx.save_model(model, path)
    for source in (path, str(path), path.read_bytes(), model):
        loaded = load_model(source)
        assert [t.name for t in loaded.graph.initializer] == ["w", "b"]
    assert load_model(model) is model  # nothing to inline: no copy


def test_external_data_is_loaded(tmp_path):
    model = conv_model()
    expected = {w.name: w.values for w in weights(model)}
    path = save_with_external_data(model, tmp_path)
    assert (tmp_path / "weights.bin").is_file()
    loaded = load_model(path)
    assert all(t.data_location == onnx.TensorProto.DEFAULT for t in loaded.graph.initializer)
    for tensor in weights(path):
        np.testing.assert_array_equal(tensor.values, expected[tensor.name])


def test_external_data_in_a_subfolder_is_allowed(tmp_path):
    (tmp_path / "data").mkdir()
    path = save_with_external_data(conv_model(), tmp_path, location="data/w.bin")
    assert len(weights(path)) == 2


def test_modelproto_with_external_data_needs_base_dir_and_is_not_modified(tmp_path):
    path = save_with_external_data(conv_model(), tmp_path)
    unloaded = onnx.load_model(path, load_external_data=False)
    with pytest.raises(ValueError, match="base_dir"):
        load_model(unloaded)
    loaded = load_model(unloaded, base_dir=tmp_path)
    assert loaded is not unloaded
    assert unloaded.graph.initializer[0].data_location == onnx.TensorProto.EXTERNAL
    assert loaded.graph.initializer[0].data_location == onnx.TensorProto.DEFAULT


@pytest.mark.parametrize("location", ["../outside.bin", "sub/../../outside.bin"])
def test_external_location_climbing_out_is_refused(tmp_path, location):
    folder = tmp_path / "model"
    folder.mkdir()
    path = save_with_external_data(conv_model(), folder)
    (tmp_path / "outside.bin").write_bytes((folder / "weights.bin").read_bytes())
    set_locations(path, location)
    with pytest.raises(ValueError, match=r"tensor 'w'.*escapes the model's folder") as info:
        load_model(path)
    assert location in str(info.value)


def test_absolute_external_location_is_refused(tmp_path):
    path = save_with_external_data(conv_model(), tmp_path)
    absolute = str((tmp_path / "weights.bin").resolve())
    set_locations(path, absolute)
    with pytest.raises(ValueError, match="absolute path") as info:
        load_model(path)
    assert absolute in str(info.value) and "'w'" in str(info.value)


def test_symlink_escaping_the_folder_is_refused(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    path = save_with_external_data(conv_model(), folder)
    outside = tmp_path / "outside.bin"
    (folder / "weights.bin").rename(outside)
    os.symlink(outside, folder / "weights.bin")
    with pytest.raises(ValueError, match="escapes the model's folder"):
        load_model(path)


def test_missing_external_file_names_it(tmp_path):
    path = save_with_external_data(conv_model(), tmp_path)
    (tmp_path / "weights.bin").unlink()
    with pytest.raises(FileNotFoundError, match="weights.bin") as info:
        load_model(path)
    assert isinstance(info.value, ValueError) and isinstance(info.value, ExternalDataNotFoundError)


def test_short_external_file_is_refused(tmp_path):
    path = save_with_external_data(conv_model(), tmp_path)
    data = (tmp_path / "weights.bin").read_bytes()
    (tmp_path / "weights.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="only"):
        load_model(path)


def test_missing_model_file():
    with pytest.raises(FileNotFoundError, match="no_such_model.onnx"):
        load_model("no_such_model.onnx")


@pytest.mark.parametrize("cut", [0.5, 0.9, 0.1])
def test_truncated_file_is_not_a_valid_model(tmp_path, cut):
    data = conv_model().SerializeToString()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(ValueError, match="is not a valid ONNX model"):
        load_model(path)


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_are_not_a_valid_model(tmp_path, seed):
    path = tmp_path / "random.onnx"
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, 1000, dtype=np.uint8).tobytes())
    with pytest.raises(ValueError, match="is not a valid ONNX model"):
        load_model(path)


def test_a_tflite_file_is_named_as_such(tmp_path, shared_data):
    """analyze / compress take ONNX: a .tflite file is told apart, with the converter to use."""
    with pytest.raises(ValueError, match="is a TensorFlow Lite model, not ONNX.*tflite_to_onnx"):
        load_model(shared_data / "tflite" / "kws_ref_model.tflite")


def test_empty_file_is_not_a_valid_model(tmp_path):
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="is not a valid ONNX model: it is empty"):
        load_model(path)


def test_wrong_source_type():
    with pytest.raises(TypeError, match="source"):
        load_model(42)
