"""Float math ops of issue #21 (Sqrt ... ArgMax): each op's small model run on every backend of the build
against ONNX Runtime, with broadcasting, negative axes, keepdims 0 / 1, empty reduce axes and NaN / Inf
values, plus a clean refusal for an attribute the engine does not support.

The engine refuses non-finite graph inputs, so NaN / Inf reach an op through the graph: an Add of a
constant holding them (``_specials``) in front of the op, or the op making them itself (Log(0), Sqrt(-1)).
Tolerances are rtol 1e-5, atol 1e-6 unless a test says why not.
"""

import math

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator
from ort_reference import run_ort

from edgequant import Engine
from edgequant.engine import supported_backends

RNG = np.random.default_rng(21)
ONNX_TYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int64): TensorProto.INT64}


def _model(nodes, feeds, opset, initializers=(), output_type=None):
    """A model running ``nodes`` on the graph inputs ``feeds`` (name -> array), output ``y`` (of the first
    input's type unless ``output_type`` says otherwise)."""
    if output_type is None:
        output_type = ONNX_TYPES[next(iter(feeds.values())).dtype]
    inputs = [helper.make_tensor_value_info(name, ONNX_TYPES[a.dtype], list(a.shape)) for name, a in feeds.items()]
    inits = [numpy_helper.from_array(np.asarray(value), name) for name, value in dict(initializers).items()]
    graph = helper.make_graph(list(nodes), "g", inputs, [helper.make_tensor_value_info("y", output_type, None)],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model.SerializeToString()


def _check(model, feeds, rtol=1e-5, atol=1e-6, expected=None):
    """The engine's output on every backend equals ONNX Runtime's (or ``expected``); returns it."""
    if expected is None:
        (expected,) = run_ort(model, feeds)
    for backend in supported_backends():
        (got,) = Engine(model, backend=backend).run(feeds)
        assert got.shape == expected.shape, backend
        assert got.dtype == expected.dtype, backend
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=backend)
    return expected


def _specials(shape):
    """A constant to add to an input of ``shape``: NaN, +Inf and -Inf in its first elements, 0 elsewhere."""
    values = np.zeros(int(np.prod(shape)), np.float32)
    values[: min(3, values.size)] = [np.nan, np.inf, -np.inf][: min(3, values.size)]
    return values.reshape(shape)


def _unary_model(op_type, shape, opset, specials=False, **attributes):
    x = np.asarray(RNG.standard_normal(shape) * 3, np.float32)
    if op_type in ("Sqrt", "Log") and x.size:  # positive values, plus a zero and a negative one (-inf, NaN)
        x = np.asarray(np.abs(x))
        x.reshape(-1)[-1] = 0
        x.reshape(-1)[0] = -2
    if op_type == "Reciprocal" and x.size:
        x.reshape(-1)[-1] = 0  # +inf
    nodes = [helper.make_node(op_type, ["z" if specials else "x"], ["y"], **attributes)]
    inits = {}
    if specials:
        nodes.insert(0, helper.make_node("Add", ["x", "special"], ["z"]))
        inits["special"] = _specials(shape)
    return _model(nodes, {"x": x}, opset, inits), {"x": x}


UNARY = ["Sqrt", "Neg", "Log", "Floor", "Ceil", "Abs", "Reciprocal", "Tanh", "Erf", "LeakyRelu", "Elu", "Softplus",
         "Selu", "Celu", "ThresholdedRelu", "Softsign", "Sign", "Round"]


@pytest.mark.parametrize("op_type", UNARY)
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (7,), ()])
def test_unary_ops(op_type, shape):
    _check(*_unary_model(op_type, shape, 13))


@pytest.mark.parametrize("op_type", UNARY)
def test_unary_ops_on_nan_and_inf(op_type):
    expected = _check(*_unary_model(op_type, (2, 5), 13, specials=True))
    if op_type != "ThresholdedRelu":  # x > alpha ? x : 0 maps NaN to 0
        assert np.isnan(expected.reshape(-1)[0])  # the NaN went through


@pytest.mark.parametrize(("op_type", "attributes"),
                         [("LeakyRelu", {"alpha": 0.3}), ("Elu", {"alpha": 0.5}), ("Celu", {"alpha": 0.5}),
                          ("Selu", {"alpha": 2.0, "gamma": 3.0}), ("ThresholdedRelu", {"alpha": 0.5})])
def test_alpha_attribute(op_type, attributes):
    model, feeds = _unary_model(op_type, (3, 8), 12, **attributes)
    expected = _check(model, feeds)
    default, _ = _unary_model(op_type, (3, 8), 12)
    assert not np.allclose(Engine(default).run(feeds)[0], expected)  # the attribute mattered


SWEEP = np.concatenate([np.linspace(-20, 20, 40001), np.geomspace(1e-30, 1, 2001), -np.geomspace(1e-30, 1, 2001),
                        [0.625, -0.625, 0.35, -0.35, 44, 100, -100]]).astype(np.float32)
SWEEP_REFERENCES = {  # float64 numpy, from the ONNX definitions
    "Tanh": lambda x: np.tanh(x),
    "Elu": lambda x: np.where(x < 0, np.expm1(x), x),
    "Selu": lambda x: 1.05070102214813232421875 * np.where(x > 0, x, 1.67326319217681884765625 * np.expm1(x)),
    "Celu": lambda x: np.maximum(0, x) + np.minimum(0, np.expm1(x)),
}


@pytest.mark.parametrize("op_type", list(SWEEP_REFERENCES))
def test_vectorised_exponentials_stay_within_two_float_ulps(op_type):
    """Tanh and the exponential units run polynomial lanes (not libm): over a dense sweep, subnormal-sized
    inputs and both branches' edges included, within 2.5e-7 relative of float64 (2 ulp; ONNX Runtime is the
    looser reference here)."""
    feeds = {"x": SWEEP}
    model = _model([helper.make_node(op_type, ["x"], ["y"])], feeds, 13)
    expected = SWEEP_REFERENCES[op_type](SWEEP.astype(np.float64))
    for backend in supported_backends():
        (got,) = Engine(model, backend=backend).run(feeds)
        np.testing.assert_allclose(got.astype(np.float64), expected, rtol=2.5e-7, atol=0, err_msg=backend)


def _erf64(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x)


ERF_REFERENCES = {  # float64, from the definitions: erf, and Gelu's x/2 · (1 + erf(x/√2)) as x/2 · erfc(−x/√2)
    "Erf": _erf64,
    "Gelu": lambda x: 0.5 * x * np.vectorize(math.erfc, otypes=[np.float64])(-x / np.sqrt(2)),
}


@pytest.mark.parametrize("op_type", list(ERF_REFERENCES))
def test_erf_and_gelu_lanes_stay_within_a_few_ulps(op_type):
    """Erf and Gelu run polynomial lanes (not libm's erff): over the dense sweep, within 4e-7 relative of
    float64 (3 ulp; Gelu 8e-7: its e^(−x²/2) inherits the rounding of x²), Gelu's negative tail (x < −3,
    values below 4e-3) within 2e-5 relative where it is above 1e-37 and within 1e-37 absolute beyond."""
    feeds = {"x": SWEEP}
    model = _model([helper.make_node(op_type, ["x"], ["y"])], feeds, 20)
    x = SWEEP.astype(np.float64)
    expected = ERF_REFERENCES[op_type](x)
    tail = (x < -3) if op_type == "Gelu" else np.zeros(x.shape, bool)
    tiny = tail & (np.abs(expected) <= 1e-37)
    for backend in supported_backends():
        (got,) = Engine(model, backend=backend).run(feeds)
        got = got.astype(np.float64)
        rtol = 8e-7 if op_type == "Gelu" else 4e-7
        np.testing.assert_allclose(got[~tail], expected[~tail], rtol=rtol, atol=0, err_msg=backend)
        np.testing.assert_allclose(got[tail & ~tiny], expected[tail & ~tiny], rtol=2e-5, atol=0, err_msg=backend)
        np.testing.assert_allclose(got[tiny], expected[tiny], rtol=0, atol=1e-37, err_msg=backend)


@pytest.mark.parametrize("approximate", [None, "none", "tanh"])
@pytest.mark.parametrize("specials", [False, True])
def test_gelu(approximate, specials):
    attributes = {} if approximate is None else {"approximate": approximate}
    _check(*_unary_model("Gelu", (2, 3, 16), 20, specials=specials, **attributes))


def test_round_takes_halves_to_even():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999998, 3.5000002], np.float32)
    expected = _check(_model([helper.make_node("Round", ["x"], ["y"])], {"x": x}, 11), {"x": x}, rtol=0, atol=0)
    np.testing.assert_array_equal(expected[:6], [0, 2, 2, -0, -2, -2])


@pytest.mark.parametrize("op_type", ["Neg", "Abs", "Sign"])
def test_neg_abs_sign_on_int64(op_type):
    x = np.array([[-5, 0, 7], [np.iinfo(np.int64).max, -3, 1]], np.int64)
    _check(_model([helper.make_node(op_type, ["x"], ["y"])], {"x": x}, 13), {"x": x})


BROADCAST_PAIRS = [((2, 3, 4), (2, 3, 4)), ((2, 3, 4), (4,)), ((2, 1, 4), (3, 1)), ((2, 3, 4), ()), ((1,), (2, 3))]


@pytest.mark.parametrize(("a_shape", "b_shape"), BROADCAST_PAIRS)
@pytest.mark.parametrize("opset", [7, 15])
def test_pow(a_shape, b_shape, opset):
    base = (RNG.standard_normal(a_shape) * 2).astype(np.float32)  # negative bases: NaN for fractional powers
    exponent = RNG.choice(np.array([-2, -1, 0, 0.5, 1, 2, 3, 1.7], np.float32), size=b_shape).astype(np.float32)
    feeds = {"a": base, "b": exponent}
    expected = _check(_model([helper.make_node("Pow", ["a", "b"], ["y"])], feeds, opset), feeds)
    assert expected.shape == np.broadcast_shapes(a_shape, b_shape)


def test_pow_with_an_int64_exponent_and_special_values():
    feeds = {"a": (RNG.standard_normal((3, 4)) * 2).astype(np.float32), "b": np.array([0, 1, 2, 3], np.int64)}
    nodes = [helper.make_node("Add", ["a", "special"], ["z"]), helper.make_node("Pow", ["z", "b"], ["y"])]
    _check(_model(nodes, feeds, 15, {"special": _specials((3, 4))}), feeds)


@pytest.mark.parametrize("exponent_type", [np.int64, np.float32])
def test_pow_of_an_int64_base(exponent_type):
    """Integer exponents (negative ones truncate 1 / b^|e| toward 0) and float ones (truncated). No 0 to a
    negative power: ONNX Runtime casts its inf to int64 (INT64_MIN on x86, undefined in C++), the engine gives 0."""
    base = np.array([[-3], [-1], [1], [2], [7]], np.int64)
    exponent = np.array([-1, 0, 1, 2, 3], exponent_type)
    if exponent_type == np.float32:
        base, exponent = np.abs(base), np.array([0, 0.5, 1, 2.5, 3], np.float32)  # no NaN to cast
    feeds = {"a": base, "b": exponent}
    expected = _check(_model([helper.make_node("Pow", ["a", "b"], ["y"])], feeds, 15), feeds, rtol=0, atol=0)
    assert expected.dtype == np.int64


@pytest.mark.parametrize("slope_shape", [(3, 1, 1), (1,), (5,), (1, 3, 4, 5), (4, 1)])
@pytest.mark.parametrize("opset", [9, 16])
def test_prelu_broadcasts_its_slope(slope_shape, opset):
    feeds = {"x": RNG.standard_normal((2, 3, 4, 5)).astype(np.float32)}
    inits = {"slope": RNG.uniform(0.05, 0.5, slope_shape).astype(np.float32)}
    _check(_model([helper.make_node("PRelu", ["x", "slope"], ["y"])], feeds, opset, inits), feeds)


def test_prelu_before_opset_7_takes_a_per_channel_slope():
    """PyTorch's PReLU exported at opset 6: a slope of C values applies along axis 1 (numpy reference: ONNX
    Runtime has no PRelu-6 kernel)."""
    x = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    slope = np.array([0.1, 0.2, 0.3], np.float32)
    model = _model([helper.make_node("PRelu", ["x", "slope"], ["y"])], {"x": x}, 6, {"slope": slope})
    _check(model, {"x": x}, expected=np.where(x < 0, x * slope[:, None], x))


def test_prelu_slope_that_does_not_fit_x_is_refused():
    feeds = {"x": RNG.standard_normal((2, 3)).astype(np.float32)}
    for slope, message in [((4, 3), r"input shapes \[2, 3\], \[4, 3\] do not broadcast"),
                           ((2, 1, 3), r"slope \[2, 1, 3\] does not broadcast to X \[2, 3\]")]:
        model = _model([helper.make_node("PRelu", ["x", "slope"], ["y"], name="p")], feeds, 16,
                       {"slope": np.ones(slope, np.float32)})
        with pytest.raises(ValueError, match=f"PRelu node 'p': {message}"):
            Engine(model).run(feeds)


@pytest.mark.parametrize("op_type", ["Min", "Max", "Sum", "Mean"])
@pytest.mark.parametrize("shapes", [[(2, 3)], [(2, 3, 4), (4,)], [(2, 1, 4), (3, 1), (1,)], [(5,), (5,), (5,), (5,)]])
def test_min_max_variadic_broadcasting(op_type, shapes):
    feeds = {f"x{k}": RNG.standard_normal(shape).astype(np.float32) for k, shape in enumerate(shapes)}
    _check(_model([helper.make_node(op_type, list(feeds), ["y"])], feeds, 13), feeds)


@pytest.mark.parametrize("op_type", ["Min", "Max"])
@pytest.mark.parametrize("special_first", [True, False])
def test_min_max_propagate_nan_and_order_inf(op_type, special_first):
    feeds = {"a": RNG.standard_normal((2, 5)).astype(np.float32), "b": RNG.standard_normal((5,)).astype(np.float32)}
    operands = ["z", "b"] if special_first else ["b", "z"]
    nodes = [helper.make_node("Add", ["a", "special"], ["z"]), helper.make_node(op_type, operands, ["y"])]
    expected = _check(_model(nodes, feeds, 13, {"special": _specials((2, 5))}), feeds)
    assert np.isnan(expected[0, 0])
    assert np.isinf(expected[0, 1] if op_type == "Max" else expected[0, 2])  # +inf wins a Max, -inf a Min


@pytest.mark.parametrize("op_type", ["Min", "Max"])
def test_min_max_on_int64(op_type):
    feeds = {"a": np.array([[3, -9, 4]], np.int64), "b": np.array([[1], [5]], np.int64)}
    _check(_model([helper.make_node(op_type, ["a", "b"], ["y"])], feeds, 13), feeds)


REDUCE = ["ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum", "ReduceL2", "ReduceL1", "ReduceSumSquare", "ReduceProd",
          "ReduceLogSum", "ReduceLogSumExp"]
AXES = [None, [1], [-1], [0, 2], [-3, -1], [0, 1, 2]]


def _axes_input_opset(op_type):
    return 13 if op_type == "ReduceSum" else 18


def _reduce_model(op_type, axes, keepdims, as_input, feeds, inits=None, **attributes):
    """ReduceX over ``axes`` with axes as an attribute (opset 11) or as a constant input."""
    inits = dict(inits or {})
    inputs = [next(iter(feeds))]
    if as_input:
        opset = _axes_input_opset(op_type)
        if axes is not None:
            inits["axes"] = np.array(axes, np.int64)
            inputs.append("axes")
    else:
        opset = 11
        if axes is not None:
            attributes["axes"] = axes
    node = helper.make_node(op_type, inputs, ["y"], keepdims=keepdims, **attributes)
    return _model([node], feeds, opset, inits)


@pytest.mark.parametrize("op_type", REDUCE)
@pytest.mark.parametrize("axes", AXES)
@pytest.mark.parametrize("keepdims", [0, 1])
@pytest.mark.parametrize("as_input", [False, True])
def test_reduce(op_type, axes, keepdims, as_input):
    feeds = {"x": RNG.standard_normal((3, 4, 5)).astype(np.float32)}
    expected = _check(_reduce_model(op_type, axes, keepdims, as_input, feeds), feeds)
    reduced = 3 if axes is None else len(axes)
    assert expected.ndim == (3 if keepdims else 3 - reduced)


@pytest.mark.parametrize("op_type", REDUCE)
@pytest.mark.parametrize("noop", [0, 1])
def test_reduce_empty_axes_input(op_type, noop):
    """An empty axes tensor reduces everything, or is the identity with noop_with_empty_axes = 1."""
    feeds = {"x": RNG.standard_normal((2, 3)).astype(np.float32)}
    model = _model([helper.make_node(op_type, ["x", "axes"], ["y"], noop_with_empty_axes=noop)], feeds,
                   _axes_input_opset(op_type), {"axes": np.array([], np.int64)})
    expected = _check(model, feeds)
    assert expected.shape == ((2, 3) if noop else (1, 1))  # noop: each element reduced alone (|x| for ReduceL2)


@pytest.mark.parametrize("op_type", ["ReduceMean", "ReduceSum"])
def test_reduce_axes_given_at_run_time(op_type):
    feeds = {"x": RNG.standard_normal((2, 3, 4)).astype(np.float32), "axes": np.array([-1, 0], np.int64)}
    model = _model([helper.make_node(op_type, ["x", "axes"], ["y"], keepdims=0)], feeds, 18)
    _check(model, feeds)


@pytest.mark.parametrize("op_type", ["ReduceMean", "ReduceSum", "ReduceL2", "ReduceL1", "ReduceSumSquare",
                                     "ReduceLogSumExp"])
def test_reduce_sums_carry_inf_and_nan(op_type):
    feeds = {"x": RNG.standard_normal((3, 4)).astype(np.float32)}
    special = np.zeros((3, 4), np.float32)
    special[0, 0], special[1, 2] = np.nan, np.inf
    nodes = [helper.make_node("Add", ["x", "special"], ["z"]),
             helper.make_node(op_type, ["z"], ["y"], axes=[1], keepdims=0)]
    expected = _check(_model(nodes, feeds, 11, {"special": special}), feeds)
    assert np.isnan(expected[0]) and np.isinf(expected[1]) and np.isfinite(expected[2])


@pytest.mark.parametrize("op_type", ["ReduceMax", "ReduceMin"])
def test_reduce_max_min_propagate_nan(op_type):
    """NaN propagates wherever it sits (numpy's maximum.reduce, the ONNX reference). ONNX Runtime's
    ReduceMax returns NaN only for some positions, so numpy is the reference here."""
    feeds = {"x": RNG.standard_normal((3, 4)).astype(np.float32)}
    special = np.zeros((3, 4), np.float32)
    special[0, 3], special[1, 0], special[2, 1] = np.nan, np.inf, -np.inf
    nodes = [helper.make_node("Add", ["x", "special"], ["z"]),
             helper.make_node(op_type, ["z"], ["y"], axes=[1], keepdims=1)]
    reduce = np.maximum.reduce if op_type == "ReduceMax" else np.minimum.reduce
    _check(_model(nodes, feeds, 11, {"special": special}), feeds, expected=reduce(feeds["x"] + special, axis=1,
                                                                                       keepdims=True))


@pytest.mark.parametrize("op_type", ["ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd"])
def test_reduce_on_int64(op_type):
    feeds = {"x": RNG.integers(-9, 9, (3, 4, 2)).astype(np.int64)}
    _check(_reduce_model(op_type, [0, -1], 0, False, feeds), feeds)


@pytest.mark.parametrize("op_type", ["ReduceMax", "ReduceMin"])
def test_int64_extreme_of_an_empty_set_is_refused(op_type):
    """INT64_MIN for int64 but false for bool, which the engine also holds as int64: refused, not guessed."""
    feeds = {"x": np.zeros((2, 0, 3), np.int64)}
    model = _model([helper.make_node(op_type, ["x"], ["y"], name="r", axes=[1])], feeds, 13)
    with pytest.raises(ValueError, match=f"{op_type} node 'r': the maximum / minimum of an empty set"):
        Engine(model).run(feeds)


@pytest.mark.parametrize(
    ("opset", "attributes", "inputs", "message"),
    [(18, {"axes": [1]}, ["x"], "axes must be an input, not an attribute"),
     (13, {}, ["x", "axes"], "axes must be an attribute, not an input"),
     (13, {"noop_with_empty_axes": 1}, ["x"], "noop_with_empty_axes is not an attribute before opset 18")])
def test_reduce_axes_in_the_wrong_form_are_refused(opset, attributes, inputs, message):
    feeds = {"x": np.ones((2, 3), np.float32)}
    model = _model([helper.make_node("ReduceMean", inputs, ["y"], name="r", **attributes)], feeds, opset,
                   {"axes": np.array([1], np.int64)})
    with pytest.raises(ValueError, match=f"ReduceMean node 'r': {message}"):
        Engine(model).run(feeds)


def test_reduce_repeated_axis_is_refused():
    feeds = {"x": np.ones((2, 3), np.float32)}
    model = _model([helper.make_node("ReduceSum", ["x"], ["y"], name="r", axes=[1, -1])], feeds, 11)
    with pytest.raises(ValueError, match="ReduceSum node 'r': axis -1 is listed twice"):
        Engine(model).run(feeds)


@pytest.mark.parametrize(("shape", "axis", "scale_shape"),
                         [((2, 3, 8), -1, (8,)), ((2, 3, 4, 5), 1, (3, 4, 5)), ((2, 3, 4, 5), -2, (4, 5)),
                          ((4, 6), 0, (4, 6)), ((2, 3, 8), -1, (1, 8))])
@pytest.mark.parametrize("bias", [False, True])
def test_layer_normalization(shape, axis, scale_shape, bias):
    """atol 1e-5: outputs are O(1) after normalisation and ONNX Runtime accumulates in float32."""
    feeds = {"x": (RNG.standard_normal(shape) * 3 + 1).astype(np.float32)}
    inits = {"scale": RNG.standard_normal(scale_shape).astype(np.float32)}
    if bias:
        inits["bias"] = RNG.standard_normal(scale_shape).astype(np.float32)
    node = helper.make_node("LayerNormalization", ["x", "scale", *(["bias"] if bias else [])], ["y"], axis=axis,
                            epsilon=1e-3)
    _check(_model([node], feeds, 17, inits), feeds, atol=1e-5)


@pytest.mark.parametrize("axis", [-1, 1])
def test_layer_normalization_mean_and_inv_std_dev_outputs(axis):
    """The optional outputs (shape of X with the normalised axes 1) on every backend against ONNX Runtime."""
    x = (RNG.standard_normal((2, 3, 5)) * 2 + 1).astype(np.float32)
    node = helper.make_node("LayerNormalization", ["x", "scale"], ["y", "mean", "inv"], axis=axis)
    scale = RNG.standard_normal((2, 3, 5)[axis:]).astype(np.float32)
    outputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in ("y", "mean", "inv")]
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
                              outputs, initializer=[numpy_helper.from_array(scale, "scale")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    model = model.SerializeToString()
    expected = run_ort(model, {"x": x})
    assert expected[1].shape == ((2, 1, 1) if axis == 1 else (2, 3, 1))
    for backend in supported_backends():
        for got, want in zip(Engine(model, backend=backend).run({"x": x}), expected, strict=True):
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=backend)


@pytest.mark.parametrize(("op_type", "attributes", "opset", "message"),
                         [("LayerNormalization", {"stash_type": 11}, 17, "stash_type 11 is not supported"),
                          ("Gelu", {"approximate": "fast"}, 20, "approximate 'fast' is not supported"),
                          ("DepthToSpace", {"blocksize": 2, "mode": "RDC"}, 13, "mode 'RDC' is not supported"),
                          ("Tile", {}, 5, "Tile before opset 6")])
def test_unsupported_attribute_is_refused_naming_the_node(op_type, attributes, opset, message):
    feeds = {"x": np.ones((1, 4, 2, 2), np.float32)}
    inputs = {"LayerNormalization": ["x", "scale"], "Tile": ["x", "repeats"]}.get(op_type, ["x"])
    model = _model([helper.make_node(op_type, inputs, ["y"], name="n", **attributes)], feeds, opset,
                   {"scale": np.ones(2, np.float32), "repeats": np.ones(4, np.int64)})
    with pytest.raises(ValueError, match=f"{op_type} node 'n': {message}"):
        Engine(model)


TILES = [((2, 3), (2, 1)), ((1, 3, 4), (2, 2, 3)), ((2, 3), (1, 0)), ((5,), (3,)), ((2, 1, 2), (1, 4, 1))]


@pytest.mark.parametrize(("shape", "repeats"), TILES)
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_tile(shape, repeats, dtype):
    feeds = {"x": (RNG.standard_normal(shape) * 10).astype(dtype)}
    model = _model([helper.make_node("Tile", ["x", "repeats"], ["y"])], feeds, 13,
                   {"repeats": np.array(repeats, np.int64)})
    _check(model, feeds, rtol=0, atol=0)


@pytest.mark.parametrize(("op_type", "attributes", "shape"),
                         [("Tile", {}, (0, 2)), ("DepthToSpace", {"blocksize": 2**40}, (1, 0, 2, 2)),
                          ("SpaceToDepth", {"blocksize": 2**40}, (1, 3, 0, 0))])
def test_an_output_shape_that_overflows_is_refused(op_type, attributes, shape):
    """Hostile sizes on a 0-size input: refused before any arithmetic overflows (no crash, no huge allocation)."""
    feeds = {"x": np.zeros(shape, np.float32)}
    inputs = ["x", "repeats"] if op_type == "Tile" else ["x"]
    model = _model([helper.make_node(op_type, inputs, ["y"], name="n", **attributes)], feeds, 13,
                   {"repeats": np.array([2**62, 2**62], np.int64)})
    with pytest.raises(ValueError, match=f"{op_type} node 'n': the output shape overflows"):
        Engine(model).run(feeds)


@pytest.mark.parametrize(("shape", "blocksize"), [((1, 8, 2, 3), 2), ((2, 18, 3, 2), 3), ((1, 4, 1, 1), 1)])
@pytest.mark.parametrize("mode", [None, "DCR", "CRD"])
def test_depth_to_space(shape, blocksize, mode):
    feeds = {"x": RNG.standard_normal(shape).astype(np.float32)}
    attributes = {} if mode is None else {"mode": mode}
    model = _model([helper.make_node("DepthToSpace", ["x"], ["y"], blocksize=blocksize, **attributes)], feeds, 13)
    _check(model, feeds, rtol=0, atol=0)


def test_depth_to_space_before_opset_11_is_dcr():
    feeds = {"x": RNG.standard_normal((1, 8, 2, 2)).astype(np.float32)}
    _check(_model([helper.make_node("DepthToSpace", ["x"], ["y"], blocksize=2)], feeds, 1), feeds, rtol=0, atol=0)


@pytest.mark.parametrize(("shape", "blocksize"), [((1, 2, 4, 6), 2), ((2, 3, 6, 3), 3), ((1, 1, 2, 2), 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_space_to_depth(shape, blocksize, dtype):
    """ONNX Runtime has no int64 SpaceToDepth: int64 is checked against its float32 result on the same integers."""
    x = RNG.integers(-100, 100, shape).astype(dtype)
    node = helper.make_node("SpaceToDepth", ["x"], ["y"], blocksize=blocksize)
    (expected,) = run_ort(_model([node], {"x": x.astype(np.float32)}, 13), {"x": x.astype(np.float32)})
    _check(_model([node], {"x": x}, 13), {"x": x}, rtol=0, atol=0, expected=expected.astype(dtype))


@pytest.mark.parametrize("mode", ["DCR", "CRD"])
def test_space_to_depth_mode_of_opset_28(mode):
    """SpaceToDepth's mode (opset 28) against ONNX's reference evaluator (ONNX Runtime stops before opset 28)."""
    feeds = {"x": RNG.standard_normal((2, 3, 4, 6)).astype(np.float32)}
    model = _model([helper.make_node("SpaceToDepth", ["x"], ["y"], blocksize=2, mode=mode)], feeds, 28)
    (expected,) = ReferenceEvaluator(onnx.load_from_string(model)).run(None, feeds)
    _check(model, feeds, rtol=0, atol=0, expected=expected)


def test_space_to_depth_of_an_indivisible_size_is_refused():
    feeds = {"x": np.ones((1, 1, 3, 4), np.float32)}
    model = _model([helper.make_node("SpaceToDepth", ["x"], ["y"], name="s", blocksize=2)], feeds, 13)
    with pytest.raises(ValueError, match="SpaceToDepth node 's': height and width"):
        Engine(model).run(feeds)


@pytest.mark.parametrize("op_type", ["ArgMax", "ArgMin"])
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("keepdims", [0, 1])
@pytest.mark.parametrize("select_last_index", [0, 1])
def test_arg_max_min_with_ties(op_type, axis, keepdims, select_last_index):
    feeds = {"x": RNG.integers(0, 3, (3, 4, 5)).astype(np.float32)}  # many ties: first / last index matters
    node = helper.make_node(op_type, ["x"], ["y"], axis=axis, keepdims=keepdims, select_last_index=select_last_index)
    expected = _check(_model([node], feeds, 13, output_type=TensorProto.INT64), feeds, rtol=0, atol=0)
    assert expected.dtype == np.int64


def test_arg_max_defaults_and_int64_input():
    feeds = {"x": RNG.integers(-50, 50, (4, 3)).astype(np.int64)}
    expected = _check(_model([helper.make_node("ArgMax", ["x"], ["y"])], feeds, 11), feeds, rtol=0, atol=0)
    assert expected.shape == (1, 3)
