"""QuantizeLinear / DequantizeLinear / the fused QuantizeDequantize against a NumPy reference written
from the ONNX definition q = saturate(round_half_even(x / s) + z), x' = (q − z)·s: ties, saturation,
per-axis parameters, int8 / uint8, NaN and Inf, empty tensors."""

import numpy as np
import pytest
from onnx import TensorProto, helper, load_model_from_string, numpy_helper

from edgequant.engine import Engine


def _reference(x, scale, zero, lo, hi, axis=1):
    shape = [1] * x.ndim
    if np.ndim(scale):
        shape[axis] = -1
    s = np.reshape(scale, shape).astype(np.float32)
    z = np.reshape(zero, shape).astype(np.float64)
    with np.errstate(all="ignore"):  # x / s may overflow to ±Inf, which saturates
        q = np.clip(np.rint(x / s) + z, lo, hi)
    return q, ((q - z) * s).astype(np.float32)


def _model(scale, zero, zero_type, axis=1, pair=True):
    inits = [
        numpy_helper.from_array(np.asarray(scale, np.float32), "s"),
        numpy_helper.from_array(np.asarray(zero, helper.tensor_dtype_to_np_dtype(zero_type)), "z"),
    ]
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], axis=axis)]
    outputs = [helper.make_tensor_value_info("q", zero_type, None)]
    if pair:
        nodes.append(helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], axis=axis))
        outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]
    graph = helper.make_graph(nodes, "q", [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)], outputs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


TYPES = {"uint8": (TensorProto.UINT8, 0, 255), "int8": (TensorProto.INT8, -128, 127)}


@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("pair", [True, False])
def test_per_tensor_matches_the_definition(kind, pair):
    zero_type, lo, hi = TYPES[kind]
    scale, zero = 0.5, (3 if kind == "uint8" else -3)
    # Ties (k + 0.5)·s round half to even; values past both ends saturate, huge ones too.
    x = np.concatenate([np.arange(-300, 300, 0.25, dtype=np.float32), [3e38, -3e38, 0.0, -0.0]]).astype(np.float32)
    x = x.reshape(1, -1)
    engine = Engine(_model(scale, zero, zero_type, pair=pair))
    q, y = _reference(x, scale, zero, lo, hi)
    out = engine.run(x)[0]
    np.testing.assert_array_equal(out, y if pair else q.astype(out.dtype))
    if pair:
        assert [op for _, op, _ in engine.plan()] == ["QuantizeDequantize"]  # the pair ran as one node


@pytest.mark.parametrize("kind", TYPES)
def test_per_axis_matches_the_definition(kind):
    zero_type, lo, hi = TYPES[kind]
    rng = np.random.default_rng(0)
    scale = rng.uniform(0.01, 0.2, 4).astype(np.float32)
    zero = rng.integers(lo, hi, 4)
    x = (rng.standard_normal((2, 4, 3, 5)) * 10).astype(np.float32)
    _, y = _reference(x, scale, zero, lo, hi, axis=1)
    np.testing.assert_array_equal(Engine(_model(scale, zero, zero_type)).run(x)[0], y)


@pytest.mark.parametrize("pair", [True, False])
def test_nan_and_inf_computed_inside_the_model(pair):
    """Inputs are refused when not finite, but ops make them: Log(−1) = NaN, Log(0) = −Inf. NaN stays
    NaN through the pair and quantizes to the zero point; −Inf saturates."""
    model = load_model_from_string(_model(0.1, 7, TensorProto.UINT8, pair=pair))
    model.graph.node.insert(0, helper.make_node("Log", ["x"], ["logx"]))
    model.graph.node[1].input[0] = "logx"
    out = Engine(model.SerializeToString()).run(np.array([[-1.0, 0.0, 1.0]], np.float32))[0]
    if pair:
        assert np.isnan(out[0, 0]) and out[0, 1] == np.float32((0 - 7) * np.float32(0.1)) and out[0, 2] == 0
    else:
        assert out.tolist() == [[7, 0, 7]]


def test_empty_and_bad_parameters():
    engine = Engine(_model(0.5, 0, TensorProto.UINT8))
    assert engine.run(np.zeros((1, 0), np.float32))[0].shape == (1, 0)
    with pytest.raises(ValueError, match="positive"):
        Engine(_model(0.0, 0, TensorProto.UINT8)).run(np.ones((1, 2), np.float32))
    with pytest.raises(ValueError, match="scales"):
        Engine(_model([0.1, 0.2, 0.3], [0, 0, 0], TensorProto.UINT8)).run(np.ones((1, 2), np.float32))
