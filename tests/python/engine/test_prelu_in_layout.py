"""PRelu with a slope per channel between convolutions (MTCNN and other face models): on oneDNN the
conv's output stays in its blocked or NHWC layout through the PRelu (Backend::layout_arithmetic), which
must give ONNX Runtime's values for every slope spelling and channel counts that leave a block
partly padded, and in static INT8 between INT8 convs."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from ort_reference import run_ort

from edgequant import Engine
from edgequant.engine import supported_backends

RNG = np.random.default_rng(5)


def _model(channels, slope_shape, opset=13, with_pool=True):
    """conv -> PRelu (slopes of `slope_shape`) -> [max pool] -> conv."""
    w0 = numpy_helper.from_array((RNG.standard_normal((channels, 3, 3, 3)) / 5).astype(np.float32), "w0")
    w1 = numpy_helper.from_array((RNG.standard_normal((4, channels, 1, 1)) / 5).astype(np.float32), "w1")
    count = int(np.prod(slope_shape)) if slope_shape else 1
    slope = numpy_helper.from_array(RNG.uniform(-0.5, 1.5, count).astype(np.float32).reshape(slope_shape), "a")
    nodes = [helper.make_node("Conv", ["x", "w0"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("PRelu", ["c", "a"], ["p"])]
    if with_pool:
        nodes.append(helper.make_node("MaxPool", ["p"], ["q"], kernel_shape=[2, 2], strides=[2, 2]))
    nodes.append(helper.make_node("Conv", ["q" if with_pool else "p", "w1"], ["y"]))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 10, 12])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None),
                               helper.make_tensor_value_info("p", TensorProto.FLOAT, None)], [w0, w1, slope])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = min(model.ir_version, 7)
    return model.SerializeToString()


CASES = {  # channels, slope shape, opset
    "per-channel 4-D": (24, (1, 24, 1, 1), 13), "per-channel 3-D": (16, (16, 1, 1), 13),
    "one slope": (20, (1,), 13), "scalar": (8, (), 13), "opset 6 per channel": (12, (12,), 6),
    "per column (not per channel)": (8, (12,), 13), "full": (8, (8, 10, 12), 13),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_prelu_between_convs_matches_onnx_runtime(case):
    channels, shape, opset = CASES[case]
    model = _model(channels, shape, opset)
    x = RNG.standard_normal((2, 3, 10, 12)).astype(np.float32)
    if opset >= 7:
        expected = run_ort(model, {"x": x})
    else:  # ONNX Runtime runs no opset 6: the per-channel slope by hand
        engine = Engine(model, backend="reference", outputs=["c", "y", "p"])
        c, _, p = engine.run(x)
        slope = onnx.numpy_helper.to_array(onnx.load_from_string(model).graph.initializer[2]).reshape(1, -1, 1, 1)
        np.testing.assert_array_equal(p, np.where(c < 0, slope * c, c))
        expected = engine.run(x)[1:]
    for backend in supported_backends():
        got = Engine(model, backend=backend).run(x)
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5)


@pytest.mark.skipif("onednn" not in supported_backends(), reason="oneDNN's layouts only")
@pytest.mark.parametrize("channels", [8, 24, 32])
def test_prelu_keeps_the_conv_layout_on_onednn(channels):
    model = _model(channels, (1, channels, 1, 1))
    engine = Engine(model, backend="onednn")
    x = RNG.standard_normal((1, 3, 10, 12)).astype(np.float32)
    layouts = engine._native.value_layouts([x])
    assert layouts["p"] != "plain" and layouts["p"] == layouts["c"], layouts


def test_static_int8_with_prelu_between_int8_convs():
    model = _model(24, (1, 24, 1, 1))
    x = RNG.standard_normal((2, 3, 10, 12)).astype(np.float32)
    calibration = RNG.standard_normal((8, 3, 10, 12)).astype(np.float32)
    (reference, _) = Engine(model, mode="static", calibration=calibration, backend="reference").run(x)
    (fp32, _) = Engine(model).run(x)
    for backend in supported_backends():
        engine = Engine(model, mode="static", calibration=calibration, backend=backend)
        assert [kind for *_, kind in engine.plan()].count("int8_static") == 2
        (y, _) = engine.run(x)
        step = np.abs(fp32).max() / 64
        assert np.abs(y - reference).max() < step, backend
