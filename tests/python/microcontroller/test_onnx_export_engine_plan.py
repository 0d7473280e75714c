"""ONNX -> C as a lowering of the engine's static INT8 plan: the convolutions the engine requantizes
in TFLite's fixed point are written with the engine's own weights, biases, multipliers and clamps,
so the C computes the engine's codes; only the model's output layer (float in the engine, int8 in
the C) is rounded once more."""

import numpy as np
import pytest
from onnx import helper
from onnx_c_reference import build_program, c_output, engine_output, make_model, run_program, save

from edgequant.engine import Engine, engine_available
from edgequant.microcontroller import export_c

pytestmark = pytest.mark.skipif(not engine_available(), reason="built without the inference engine")


def weights(rng, *shape):
    return (rng.normal(size=shape) / np.sqrt(np.prod(shape[1:]))).astype(np.float32)


def chain(rng):
    """conv+relu -> depthwise conv+clip(0, 6) -> maxpool -> conv 1x1 (the output)."""
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], group=6),
             helper.make_node("Clip", ["c2", "lo", "hi"], ["r2"]),
             helper.make_node("MaxPool", ["r2"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Conv", ["p", "w3"], ["y"])]
    initializers = [("w1", weights(rng, 6, 3, 3, 3)), ("b1", weights(rng, 6)), ("w2", weights(rng, 6, 1, 3, 3)),
                    ("b2", weights(rng, 6)), ("lo", np.float32(0)), ("hi", np.float32(6)),
                    ("w3", weights(rng, 4, 6, 1, 1))]
    return make_model(nodes, [1, 3, 8, 8], "y", initializers)


def test_the_c_takes_the_engines_integer_layers(tmp_path):
    rng = np.random.default_rng(0)
    path = save(chain(rng), tmp_path / "chain.onnx")
    calibration = rng.random((16, 3, 8, 8), np.float32)
    report = export_c(path, tmp_path / "c", calibration=calibration)
    engine = Engine(str(path), mode="static", calibration=calibration, calibration_batch_size=1, backend="reference",
                    reduce_range=False)
    integer = engine._native.integer_layers()
    layers = {layer.name: layer for layer in report.graph.layers}
    convs = [name for name in layers if layers[name].kind in ("conv2d", "depthwise_conv2d")]
    assert len(convs) == 3
    # every conv runs static INT8 with the engine's weights; the two hand-offs requantize in fixed point
    assert sorted(integer) == sorted(convs), (sorted(integer), convs)
    assert "bias" not in integer[convs[2]], "the output layer is float in the engine"
    for name in convs:
        assert np.array_equal(np.sort(layers[name].constants["filter"].ravel()), np.sort(integer[name]["weights"]))
    for name in convs[:2]:
        layer, plan = layers[name], integer[name]
        assert np.array_equal(layer.constants["bias"], plan["bias"])
        assert np.array_equal(layer.constants["multipliers"], plan["multipliers"])
        assert np.array_equal(layer.constants["shifts"], plan["shifts"])
        assert (layer.params["activation_min"], layer.params["activation_max"]) == (plan["min"] - 128,
                                                                                   plan["max"] - 128)
    # the same codes up to the output layer: the C's output lies within the output layer's own rounding
    x = calibration[:8]
    binary = build_program(report.directory)
    got = c_output(report, run_program(binary, report, report.graph.quantize_input(x)))
    want = engine_output(path, calibration, x).reshape(got.shape)
    steps = np.max(np.abs(got - want)) / report.graph.output_activation.scale
    assert steps <= 1.0, steps
