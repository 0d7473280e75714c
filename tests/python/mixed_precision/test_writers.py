"""The readers of a bit config: QDQ ONNX (ONNX Runtime and our engine) and the .eqz file."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from edgequant.compress import decompress_model
from edgequant.engine import Engine, engine_available
from edgequant.mixed_precision import bits_by_tensor, list_components, make_config, quantize_weight
from edgequant.mixed_precision.compress import compress_mixed_precision
from edgequant.mixed_precision.losses import float_weights
from edgequant.mixed_precision.qdq import save_mixed_precision_qdq
from edgequant.model.tensor_slots import TensorSlots
from edgequant.zoo import load_test_set, model_path


def _mixed_config(per_channel: bool):
    components = list_components(model_path(), per_channel=per_channel)
    rng = np.random.default_rng(5)
    return make_config({c.name: int(rng.choice([2, 3, 4, 8])) for c in components}, components)


def _reference_model(config):
    """The float model with every weight quantize-dequantized by the reference quantizer."""
    model = onnx.load(str(model_path()))
    slots = TensorSlots(model)
    widths = bits_by_tensor(config, model)
    values = float_weights(model, list(widths))
    for name, (bits, axis) in widths.items():
        slots.write(name, quantize_weight(values[name], bits, axis))
    return model, {name: quantize_weight(values[name], bits, axis) for name, (bits, axis) in widths.items()}


@pytest.mark.parametrize("per_channel", [False, True])
def test_qdq_weights_equal_the_reference_bit_for_bit_in_onnxruntime(tmp_path, per_channel):
    config = _mixed_config(per_channel)
    qdq = save_mixed_precision_qdq(model_path(), config, tmp_path / "q.onnx")
    _, expected = _reference_model(config)
    codes = {init.name: onnx.numpy_helper.to_array(init) for init in qdq.graph.initializer}
    for name, (bits, _) in bits_by_tensor(config, model_path()).items():
        stored = codes[f"{name}_quantized"]
        assert stored.dtype == np.int8
        low = -(2 ** (np.asarray(bits) - 1))
        assert stored.min() >= np.min(low) and stored.max() <= np.max(-low - 1)
    probe = onnx.ModelProto()
    probe.CopyFrom(qdq)
    for name in expected:  # read the DequantizeLinear outputs themselves
        probe.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    x, _ = load_test_set()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    outputs = ort.InferenceSession(probe.SerializeToString(), options).run(None, {"input": x[:4]})
    for name, values in zip(expected, outputs[1:], strict=True):
        np.testing.assert_array_equal(values, expected[name], err_msg=name)


@pytest.mark.skipif(not engine_available(), reason="built without the engine")
def test_the_engine_runs_the_qdq_model_exactly_as_the_quantized_float_model(tmp_path):
    config = _mixed_config(per_channel=True)
    save_mixed_precision_qdq(model_path(), config, tmp_path / "q.onnx")
    reference, _ = _reference_model(config)
    x, y = load_test_set()
    by_qdq = Engine(tmp_path / "q.onnx", threads=1).run(x)[0]
    np.testing.assert_array_equal(by_qdq, Engine(reference, threads=1).run(x)[0])
    assert np.mean(by_qdq.argmax(1) == y) > 0.5


def test_eqz_restores_the_reference_weights(tmp_path):
    for per_channel in (False, True):
        config = _mixed_config(per_channel)
        report = compress_mixed_precision(model_path(), config, tmp_path / "m.eqz")
        restored = decompress_model(tmp_path / "m.eqz")
        _, expected = _reference_model(config)
        values = float_weights(restored, list(expected))
        for name in expected:
            np.testing.assert_array_equal(values[name], expected[name], err_msg=name)
        assert report.coded_bits_per_weight < 8


def test_writers_refuse_a_config_for_another_model(tmp_path):
    config = make_config({"0.weight": 4, "3.weight": 4, "9.weight": 4, "fc2.weight": 2})
    with pytest.raises(ValueError, match=r"names tensor\(s\) \['fc2.weight'\]"):
        save_mixed_precision_qdq(model_path(), config, tmp_path / "q.onnx")
    with pytest.raises(ValueError, match=r"names tensor\(s\) \['fc2.weight'\]"):
        compress_mixed_precision(model_path(), config, tmp_path / "m.eqz")


def _dq_matmul_model(codes, scale, zero_point, axis=None):
    from onnx import TensorProto, helper, numpy_helper

    attributes = {} if axis is None else {"axis": axis}
    nodes = [helper.make_node("DequantizeLinear", ["Wq", "s", "z"], ["W"], **attributes),
             helper.make_node("MatMul", ["x", "W"], ["y"])]
    graph = helper.make_graph(nodes, "dq", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, codes.shape[0]])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, codes.shape[1]])],
                              [numpy_helper.from_array(codes, "Wq"), numpy_helper.from_array(scale, "s"),
                               numpy_helper.from_array(zero_point, "z")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    return model


@pytest.mark.skipif(not engine_available(), reason="built without the engine")
@pytest.mark.parametrize(("dtype", "axis"), [(np.int8, 1), (np.uint8, 1), (np.int8, None), (np.uint8, None),
                                             (np.int8, -1)])
def test_engine_folds_constant_dequantize_linear_as_onnxruntime_computes_it(dtype, axis):
    rng = np.random.default_rng(0)
    info = np.iinfo(dtype)
    codes = rng.integers(info.min, info.max + 1, (5, 3)).astype(dtype)
    channels = () if axis is None else (3,)
    scale = rng.uniform(0.01, 0.2, channels).astype(np.float32)
    zero_point = rng.integers(info.min, info.max + 1, channels).astype(dtype)
    model = _dq_matmul_model(codes, scale, zero_point, axis)
    x = np.eye(2, 5, dtype=np.float32)  # picks rows 0 and 1 of W: the dequantized values themselves
    options = ort.SessionOptions()  # unoptimised: ORT's fused DQ+MatMul kernels round differently
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    expected = ort.InferenceSession(model.SerializeToString(), options).run(None, {"x": x})[0]
    reference = (codes.astype(np.int32) - zero_point.astype(np.int32)).astype(np.float32) * scale
    np.testing.assert_array_equal(expected, reference[:2])
    np.testing.assert_array_equal(Engine(model, threads=1).run(x)[0], expected)


@pytest.mark.skipif(not engine_available(), reason="built without the engine")
def test_engine_refuses_a_dequantize_linear_whose_scales_do_not_match():
    codes = np.zeros((5, 3), np.int8)
    model = _dq_matmul_model(codes, np.ones(4, np.float32), np.zeros(4, np.int8), axis=1)
    with pytest.raises(ValueError, match="4 scales for 3 channels along axis 1"):
        Engine(model, threads=1)
