"""The readers of a bit config: QDQ ONNX (ONNX Runtime and our engine) and the .eqz file."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from edgequant.compress import decompress_model
from edgequant.engine import Engine, engine_available
from edgequant.mixed_precision import (
    bits_by_tensor,
    list_components,
    make_config,
    quantize_weight,
    quantize_weight_codes,
)
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


def test_qdq_above_8_bits_is_int16_at_opset_21_and_unlisted_weights_stay_float(tmp_path):
    components = list_components(model_path(), per_channel=True)
    first = components[0].tensor
    config = make_config({c.name: 12 if c.channel % 2 else 3 for c in components if c.tensor == first}, components)
    qdq = save_mixed_precision_qdq(model_path(), config, tmp_path / "q.onnx", require_all=False)
    assert next(o.version for o in qdq.opset_import if o.domain == "") == 21  # the zoo model is at 17
    stored = {init.name: onnx.numpy_helper.to_array(init) for init in qdq.graph.initializer}
    weights = float_weights(onnx.load(str(model_path())), [c.tensor for c in components])
    widths, axis = bits_by_tensor(config, model_path(), require_all=False)[first]
    codes, _, _ = quantize_weight_codes(weights[first], widths, axis)
    assert stored[f"{first}_quantized"].dtype == np.int16 and np.abs(codes).max() > 127
    np.testing.assert_array_equal(stored[f"{first}_quantized"], codes)
    for name in {c.tensor for c in components} - {first}:  # not in the config: left float, untouched
        np.testing.assert_array_equal(stored[name], weights[name])
    reference = onnx.load(str(model_path()))  # the float model with only that weight quantize-dequantized
    TensorSlots(reference).write(first, quantize_weight(weights[first], widths, axis))
    x, _ = load_test_set()
    expected = ort.InferenceSession(reference.SerializeToString()).run(None, {"input": x[:8]})[0]
    got = ort.InferenceSession(str(tmp_path / "q.onnx")).run(None, {"input": x[:8]})[0]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())
    with pytest.raises(ValueError, match="gives no bit width"):
        save_mixed_precision_qdq(model_path(), config)


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


@pytest.mark.skipif(not engine_available(), reason="built without the inference engine")
@pytest.mark.parametrize("mode", ["static", "dynamic"])
def test_engine_save_quantized_reads_the_bit_config(tmp_path, mode):
    """save_engine_qdq(engine, path, CFG.json): configured weights on their own grids (the reference's
    codes), the engine's other INT8 layers at 8 bits; ONNX Runtime runs the file."""
    from edgequant.mixed_precision import save_config, save_engine_qdq

    x, y = load_test_set()
    components = list_components(model_path(), per_channel=True)
    first, last = components[0].tensor, components[-1].tensor
    widths = {c.name: 2 + 2 * (c.channel % 2) for c in components if c.tensor == first}  # 2 / 4 bits per channel
    widths.update({c.name: 3 for c in components if c.tensor == last})
    config = make_config(widths, components)
    save_config(config, tmp_path / "bits.json")
    engine = Engine(model_path(), mode=mode, calibration=x[:64] if mode == "static" else None)
    save_engine_qdq(engine, tmp_path / "q.onnx", tmp_path / "bits.json")
    saved = onnx.load(str(tmp_path / "q.onnx"))
    stored = {init.name: onnx.numpy_helper.to_array(init) for init in saved.graph.initializer}
    values = float_weights(model_path(), [first, last])
    for name, (bits, axis) in bits_by_tensor(config, model_path(), require_all=False).items():
        codes, _, _ = quantize_weight_codes(values[name], bits, axis)
        np.testing.assert_array_equal(stored[f"{name}_quantized"], codes.astype(np.int8))
    others = [name[:-len("_quantized")] for name in stored if name.endswith("_quantized")
              and name[:-len("_quantized")] not in (first, last)]
    assert others and all(np.abs(stored[f"{n}_quantized"]).max() > 8 for n in others)  # still 8 bits
    logits = ort.InferenceSession(str(tmp_path / "q.onnx")).run(None, {"input": x})[0]
    assert (logits.argmax(1) == y).mean() > 0.9
    with pytest.raises(ValueError, match="not conv/fully connected weights"):
        save_engine_qdq(engine, tmp_path / "bad.onnx", {**config, "weights": {"nope": 4}})
