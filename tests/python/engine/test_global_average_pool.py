"""GlobalAveragePool sums in double on every backend: the mean of the float32 values to the nearest float,
where oneDNN's pooling summed one float32 chain (off by hundreds of steps of the mean when the values
cancel; a squeeze-excitation block scales a whole feature map by it). On a plain input and on a conv's
output left in oneDNN's layouts (channel blocks of 16, the last one padded at 20 channels; NHWC), over a map
whose size is no multiple of the vector width."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgequant import Engine
from edgequant.engine import supported_backends

SHAPE = (2, 20, 37, 41)


def _model(source: str) -> bytes:
    """GlobalAveragePool of x, or of a conv whose only tap is the centre's identity (its output is x
    exactly, left in the conv's layout: nChw16c for a depthwise conv, NHWC for a dilated one here)."""
    nodes, inits = [helper.make_node("GlobalAveragePool", ["x" if source == "plain" else "c"], ["y"])], []
    channels = SHAPE[1]
    if source == "depthwise":
        eye = np.zeros((channels, 1, 3, 3), np.float32)
        eye[:, :, 1, 1] = 1
        nodes.insert(0, helper.make_node("Conv", ["x", "eye"], ["c"], pads=[1, 1, 1, 1], group=channels))
    elif source == "dilated":
        eye = np.zeros((channels, channels, 3, 3), np.float32)
        eye[:, :, 1, 1] = np.eye(channels)
        nodes.insert(0, helper.make_node("Conv", ["x", "eye"], ["c"], pads=[2, 2, 2, 2], dilations=[2, 2]))
    if source != "plain":
        inits.append(numpy_helper.from_array(eye, "eye"))
    graph = helper.make_graph(nodes, "gap", [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


def _cancelling(rng) -> np.ndarray:
    """Values of ±1e4 around small per-channel means: the sum cancels to a few thousandths of its terms."""
    means = rng.uniform(-2, 2, (SHAPE[0], SHAPE[1], 1, 1))
    return (rng.standard_normal(SHAPE) * 1e4 + means).astype(np.float32)


@pytest.mark.parametrize("backend", supported_backends())
@pytest.mark.parametrize("source, layout", [("plain", "plain"), ("depthwise", "nChw16c"), ("dilated", "nhwc")])
def test_global_average_is_the_mean_to_the_nearest_float(backend, source, layout):
    rng = np.random.default_rng(5)
    x = _cancelling(rng)
    engine = Engine(_model(source), backend=backend)
    (y,) = engine.run(x)
    exact = x.astype(np.float64).mean(axis=(2, 3), keepdims=True)
    # within half a step of the float grid at the mean (double sums of 1,517 values: far below that)
    assert np.all(np.abs(y - exact) <= 0.5 * np.spacing(np.abs(exact).astype(np.float32)) * 1.0001)
    # what one float32 chain gives here: the test could fail
    chain = np.add.accumulate(x.reshape(SHAPE[0], SHAPE[1], -1), axis=2, dtype=np.float32)[:, :, -1] / x[0, 0].size
    assert np.abs(chain - exact[:, :, 0, 0]).max() > 100 * np.spacing(np.float32(2))
    if backend == "onednn":  # the path of that layout ran
        assert engine._native.value_layouts([x]).get("c", "plain") == layout


@pytest.mark.parametrize("backend", supported_backends())
def test_global_average_of_huge_values_does_not_overflow(backend):
    """Values near FLT_MAX: their float32 sum overflows, their mean does not."""
    x = np.full(SHAPE, 3e38, np.float32)
    x[:, :, ::2] = -3e38
    x[:, :, 0, 0] = 3.4e38
    (y,) = Engine(_model("depthwise"), backend=backend).run(x)
    exact = x.astype(np.float64).mean(axis=(2, 3), keepdims=True)
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y, exact, rtol=1e-6)
