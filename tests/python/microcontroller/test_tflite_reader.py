"""Reading .tflite flatbuffers without TensorFlow."""

import numpy as np
import pytest

pytest.importorskip("tflite")

from mcu_models import MLPERF_TINY  # noqa: E402

from edgequant.tflite import read_tflite  # noqa: E402


def test_resnet8_structure_and_quantization(tflite_dir):
    model = read_tflite(tflite_dir / MLPERF_TINY["resnet8"])
    kinds = [op.kind for op in model.operators]
    assert kinds.count("CONV_2D") == 9 and kinds.count("ADD") == 3 and kinds[-1] == "SOFTMAX"
    source = model.tensors[model.inputs[0]]
    assert source.dtype == np.int8 and source.shape == (1, 32, 32, 3) and source.data is None
    conv = model.operators[0]
    weights = model.tensors[conv.inputs[1]]
    assert weights.dtype == np.int8 and weights.data.shape == weights.shape
    assert len(weights.scale) == weights.shape[0] > 1 and weights.quantized_dimension == 0  # per channel
    assert np.all(weights.zero_point == 0)
    assert conv.options["padding"] in ("SAME", "VALID") and conv.options["activation"] == "RELU"
    softmax = model.tensors[model.outputs[0]]
    assert softmax.zero_point[0] == -128 and np.isclose(softmax.scale[0], 1 / 256)


def test_depthwise_options(tflite_dir):
    model = read_tflite((tflite_dir / MLPERF_TINY["kws"]).read_bytes())
    depthwise = [op for op in model.operators if op.kind == "DEPTHWISE_CONV_2D"]
    assert depthwise and all(op.options["depth_multiplier"] >= 1 for op in depthwise)
    assert model.tensors[depthwise[0].inputs[1]].quantized_dimension == 3


def test_bad_inputs(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_tflite(tmp_path / "none.tflite")
    with pytest.raises(ValueError, match="TFL3"):
        read_tflite(b"\x00" * 64)
    with pytest.raises(TypeError):
        read_tflite(3)
    with pytest.raises(ValueError, match="corrupt|TFL3"):
        read_tflite(b"\x10\x00\x00\x00TFL3" + b"\xff" * 40)
