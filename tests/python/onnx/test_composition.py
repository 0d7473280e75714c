"""composition(): bytes of weights and biases against the whole file (Table 3.1)."""

import onnx
from onnx_model_builders import conv_model

from edgequant.onnx import composition


def test_in_memory_model_counts_storage_bytes():
    model = conv_model()
    parts = composition(model)
    assert parts["weight_bytes"] == 6 * 4 and parts["bias_bytes"] == 3 * 4
    assert parts["parameters"] == 9 and parts["bias_parameters"] == 3
    assert parts["file_bytes"] == model.ByteSize()
    assert parts["other_bytes"] == parts["file_bytes"] - 36 > 0
    assert parts["by_role"]["conv_weight"] == {"tensors": 1, "parameters": 6, "bytes": 24}


def test_external_data_files_count_in_the_file_size(tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save_model(
        conv_model(), path, save_as_external_data=True, location="w.bin", size_threshold=0
    )
    parts = composition(path)
    assert parts["model_file_bytes"] == path.stat().st_size
    assert parts["external_data_bytes"] == (tmp_path / "w.bin").stat().st_size >= 36
    assert parts["file_bytes"] == parts["model_file_bytes"] + parts["external_data_bytes"]
    assert 0 < parts["weight_and_bias_percent"] < 100
