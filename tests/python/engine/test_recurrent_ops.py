"""LSTM, GRU, RNN and ConvTranspose of issue #21: random models built with onnx.helper, run on every
backend of the build (the reference backend's dense kernel is the plain loop the fast ones are held
against) and compared with ONNX Runtime: forward / reverse / bidirectional, batch > 1, layout 1,
sequence_lens, initial states, peepholes, clip, the activations attribute; edge cases (empty sequence,
sequence_lens 0, one step) and bad attributes refused with clear errors.

Tolerances: rtol 1e-4, atol 1e-5 (the recurrence compounds float32 rounding over the steps).
"""

import numpy as np
import pytest
from onnx import TensorProto, helper, load_from_string, numpy_helper
from ort_reference import run_ort

from edgequant import Engine
from edgequant.engine import supported_backends

RNG = np.random.default_rng(2124)
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
OUTPUTS = {"LSTM": ["y", "y_h", "y_c"], "GRU": ["y", "y_h"], "RNN": ["y", "y_h"]}


def _normal(*shape, scale=0.5):
    return np.asarray(RNG.standard_normal(shape) * scale, np.float32)


def _recurrent_model(
    op_type,
    seq,
    batch,
    in_size,
    hidden,
    direction="forward",
    layout=0,
    bias=True,
    lens=None,
    initial=False,
    peepholes=False,
    outputs=None,
    opset=14,
    **attributes,
):
    """(model bytes, feeds, reference): X is the graph input, the weights initializers; sequence_lens an
    int32 initializer when ``lens`` is given. ``reference(feeds)`` is ONNX Runtime's outputs; it does not
    run layout 1, so there it runs the layout-0 twin of the model on transposed X and transposes back."""
    dirs = 2 if direction == "bidirectional" else 1
    gh = GATES[op_type] * hidden
    inits = {"w": _normal(dirs, gh, in_size), "r": _normal(dirs, gh, hidden)}
    names = ["x", "w", "r"]
    optional = [
        ("b", bias, lambda: _normal(dirs, 2 * gh)),
        ("lens", lens is not None, lambda: np.asarray(lens, np.int32)),
        ("h0", initial, lambda: _normal(dirs, batch, hidden)),
        ("c0", initial and op_type == "LSTM", lambda: _normal(dirs, batch, hidden)),
        ("p", peepholes, lambda: _normal(dirs, 3 * hidden)),
    ]
    if op_type != "LSTM":
        optional = optional[:3]
    for name, present, make in optional:
        names.append(name if present else "")
        if present:
            inits[name] = make()
    while names[-1] == "":
        names.pop()
    outputs = outputs or OUTPUTS[op_type]

    def build(layout):
        node = helper.make_node(op_type, names, outputs, hidden_size=hidden, direction=direction, **attributes)
        states = {}
        if layout:
            node.attribute.append(helper.make_attribute("layout", 1))
            states = {k: inits[k].transpose(1, 0, 2) for k in ("h0", "c0") if k in inits}
        x_shape = [batch, seq, in_size] if layout else [seq, batch, in_size]
        graph = helper.make_graph(
            [node],
            "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
            [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs if o],
            initializer=[numpy_helper.from_array(np.ascontiguousarray(states.get(k, v)), k) for k, v in inits.items()],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = 8
        return model.SerializeToString()

    model, twin = build(layout), build(0)

    def reference(feeds):
        if not layout:
            return run_ort(model, feeds)
        got = run_ort(twin, {"x": feeds["x"].transpose(1, 0, 2)})
        return [g.transpose(2, 0, 1, 3) if g.ndim == 4 else g.transpose(1, 0, 2) for g in got]

    x_shape = [batch, seq, in_size] if layout else [seq, batch, in_size]
    return model, {"x": _normal(*x_shape, scale=1.0)}, reference


def _check(model, feeds, reference, rtol=1e-4, atol=1e-5):
    expected = reference(feeds)
    for backend in supported_backends():
        got = Engine(model, backend=backend).run(feeds)
        assert len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            assert g.shape == e.shape, backend
            np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, err_msg=backend)
    return expected


@pytest.mark.parametrize("op_type", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("layout", [0, 1])
def test_directions_and_layouts(op_type, direction, layout):
    _check(*_recurrent_model(op_type, 5, 3, 4, 6, direction, layout, initial=True))


@pytest.mark.parametrize("op_type", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
def test_sequence_lens(op_type, direction):
    _check(*_recurrent_model(op_type, 6, 4, 3, 5, direction, lens=[6, 2, 4, 1], initial=True))


@pytest.mark.parametrize("op_type", ["LSTM", "GRU", "RNN"])
def test_sequence_lens_with_layout_1(op_type):
    _check(*_recurrent_model(op_type, 4, 3, 3, 5, "bidirectional", layout=1, lens=[4, 1, 3], initial=True))


@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
def test_lstm_peepholes_clip_and_no_bias(direction):
    _check(*_recurrent_model("LSTM", 7, 2, 5, 4, direction, bias=False, initial=True, peepholes=True))
    _check(*_recurrent_model("LSTM", 7, 2, 5, 4, direction, peepholes=True, clip=0.7))


def test_lstm_input_forget():
    _check(*_recurrent_model("LSTM", 5, 2, 3, 4, "bidirectional", initial=True, peepholes=True, input_forget=1))


@pytest.mark.parametrize("linear_before_reset", [0, 1])
@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
def test_gru_linear_before_reset(linear_before_reset, direction):
    _check(*_recurrent_model("GRU", 6, 3, 4, 5, direction, initial=True, linear_before_reset=linear_before_reset))
    _check(*_recurrent_model("GRU", 6, 3, 4, 5, direction, clip=0.5, linear_before_reset=linear_before_reset))


@pytest.mark.parametrize(
    "op_type,activations,alpha,beta",
    [
        ("LSTM", ["HardSigmoid", "Relu", "Softsign"], [0.3], [0.4]),
        (
            "LSTM",
            ["Sigmoid", "LeakyRelu", "ThresholdedRelu", "HardSigmoid", "Elu", "Softplus"],
            [0.05, 0.2, 0.25, 0.9],
            [0.45],
        ),
        ("GRU", ["Sigmoid", "ScaledTanh"], [1.5], [0.7]),
        ("RNN", ["Relu"], None, None),
    ],
)
def test_activations_attribute(op_type, activations, alpha, beta):
    direction = "bidirectional" if len(activations) == 2 * {"LSTM": 3, "GRU": 2, "RNN": 1}[op_type] else "forward"
    attributes = {"activations": activations}
    if alpha:
        attributes["activation_alpha"] = alpha
    if beta:
        attributes["activation_beta"] = beta
    _check(*_recurrent_model(op_type, 4, 2, 3, 4, direction, initial=True, **attributes))


@pytest.mark.parametrize("op_type", ["LSTM", "GRU", "RNN"])
def test_one_step_and_partial_outputs(op_type):
    _check(*_recurrent_model(op_type, 1, 2, 3, 4, "bidirectional", initial=True))
    # Only Y_h requested (Y omitted with an empty name).
    _check(*_recurrent_model(op_type, 3, 2, 3, 4, outputs=["", "y_h"]))
    _check(*_recurrent_model(op_type, 3, 2, 3, 4, outputs=["y"]))


@pytest.mark.parametrize("op_type", ["LSTM", "GRU", "RNN"])
def test_sequence_lens_zero_keeps_the_initial_state(op_type):
    model, feeds, _ = _recurrent_model(op_type, 4, 2, 3, 4, "bidirectional", lens=[0, 3], initial=True)
    outputs = Engine(model).run(feeds)
    y = outputs[0]
    assert np.all(y[:, :, 0] == 0)  # batch row 0 never runs
    assert np.all(y[3:, :, 1] == 0)  # row 1 stops after 3 steps
    assert np.any(y[:3, :, 1] != 0)
    # Y_h of row 0 is initial_h: its state never changes. ONNX Runtime (1.2x) returns zeros there instead,
    # so no comparison with it; the ONNX definition has no step that would reset the state.
    initial_h = next(numpy_helper.to_array(i) for i in load_from_string(model).graph.initializer if i.name == "h0")
    np.testing.assert_array_equal(outputs[1][:, 0], initial_h[:, 0])


@pytest.mark.parametrize("op_type", ["LSTM", "GRU"])
def test_empty_sequence(op_type):
    """seq_length 0: Y is empty and Y_h the initial state (ONNX Runtime aborts the process on the GRU
    case, so no comparison with it)."""
    model, feeds, _ = _recurrent_model(op_type, 0, 2, 3, 4, "bidirectional", initial=True)
    outputs = Engine(model).run(feeds)
    assert outputs[0].shape == (0, 2, 2, 4)
    assert outputs[1].shape == (2, 2, 4)
    h0 = next(numpy_helper.to_array(i) for i in load_from_string(model).graph.initializer if i.name == "h0")
    np.testing.assert_array_equal(outputs[1], h0)


@pytest.mark.parametrize("seq", [3, 40])
def test_recurrent_weights_computed_at_run_time(seq):
    """W fed as a graph input: products for each run's values, nothing kept (up to 64 rows of X a plain loop,
    beyond a backend kernel made for the run)."""
    model, feeds, _ = _recurrent_model("GRU", seq, 2, 3, 4)
    proto = load_from_string(model)
    w = next(i for i in proto.graph.initializer if i.name == "w")
    proto.graph.initializer.remove(w)
    proto.graph.input.append(helper.make_tensor_value_info("w", TensorProto.FLOAT, list(w.dims)))
    model = proto.SerializeToString()
    engine = Engine(model)
    for _ in range(2):
        feeds["w"] = _normal(*w.dims)
        expected = run_ort(model, feeds)
        for g, e in zip(engine.run(feeds), expected, strict=True):
            np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "op_type,attributes,message",
    [
        ("LSTM", {"direction": "sideways"}, "direction 'sideways'"),
        ("LSTM", {"activations": ["Sigmoid", "Tanh"]}, "activations lists 2 functions, expected 3"),
        ("GRU", {"activations": ["Sigmoid", "Gelu"]}, "activation 'Gelu' is not supported"),
        ("RNN", {"clip": -1.0}, "clip must be > 0"),
        ("LSTM", {"hidden_size": 7}, r"W has shape \[1, 16, 3\], expected \[1, 28, 3\]"),
    ],
)
def test_bad_attributes_are_refused(op_type, attributes, message):
    hidden = attributes.pop("hidden_size", 4)
    model, feeds, _ = _recurrent_model(op_type, 3, 2, 3, 4, **attributes)
    if hidden != 4:
        proto = load_from_string(model)
        next(a for a in proto.graph.node[0].attribute if a.name == "hidden_size").i = hidden
        model = proto.SerializeToString()
    with pytest.raises(ValueError, match=message):
        Engine(model).run(feeds)


def test_sequence_lens_longer_than_the_sequence_is_refused():
    model, feeds, _ = _recurrent_model("LSTM", 3, 2, 3, 4, lens=[3, 5])
    with pytest.raises(ValueError, match=r"sequence_lens holds 5, outside \[0, 3\]"):
        Engine(model).run(feeds)


def _conv_transpose_model(x_shape, w_shape, bias=True, **attributes):
    """ConvTranspose of the graph input X with constant W (and B)."""
    inits = [numpy_helper.from_array(_normal(*w_shape), "w")]
    names = ["x", "w"]
    if bias:
        inits.append(numpy_helper.from_array(_normal(w_shape[1] * attributes.get("group", 1)), "b"))
        names.append("b")
    node = helper.make_node("ConvTranspose", names, ["y"], **attributes)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString(), {"x": _normal(*x_shape, scale=1.0)}


@pytest.mark.parametrize(
    "x_shape,w_shape,attributes",
    [
        ((2, 3, 7), (3, 4, 3), {}),
        ((1, 4, 9), (4, 2, 4), {"strides": [3], "pads": [1, 2], "dilations": [2], "group": 2}),
        ((1, 2, 5), (2, 3, 3), {"strides": [2], "output_padding": [1]}),
        ((2, 3, 5, 6), (3, 2, 3, 3), {}),
        ((1, 4, 5, 4), (4, 3, 3, 2), {"strides": [2, 3], "pads": [1, 0, 2, 1], "group": 2}),
        ((1, 2, 4, 4), (2, 2, 3, 3), {"strides": [2, 2], "dilations": [2, 1], "output_padding": [1, 1]}),
        ((1, 3, 4, 5), (3, 2, 3, 3), {"strides": [2, 2], "output_shape": [9, 11]}),
        ((1, 3, 4, 5), (3, 2, 3, 3), {"strides": [2, 2], "output_shape": [10, 12]}),
        ((1, 3, 4, 5), (3, 2, 3, 3), {"strides": [2, 2], "auto_pad": "SAME_UPPER"}),
        ((1, 3, 4, 5), (3, 2, 4, 4), {"strides": [3, 2], "auto_pad": "SAME_LOWER"}),
        ((1, 3, 4, 5), (3, 2, 3, 3), {"strides": [2, 1], "auto_pad": "VALID"}),
        ((1, 6, 3, 3), (6, 1, 3, 3), {"group": 6}),
        ((1, 2, 3, 4, 3), (2, 2, 2, 3, 2), {"strides": [2, 1, 2], "pads": [0, 1, 1, 0, 1, 0]}),
        # kernel = stride (a learned upsampling): every output written once, without the bias pass
        ((2, 3, 5), (3, 4, 3), {"strides": [3]}),
        ((1, 4, 5, 6), (4, 3, 2, 2), {"strides": [2, 2], "group": 2}),
        ((2, 3, 4, 5), (3, 2, 2, 3), {"strides": [2, 3]}),
        ((1, 2, 3, 2, 3), (2, 2, 2, 2, 2), {"strides": [2, 2, 2]}),
        ((1, 3, 4, 4), (3, 2, 2, 2), {"strides": [2, 2], "output_padding": [1, 1]}),  # not tiling: padded
    ],
)
def test_conv_transpose(x_shape, w_shape, attributes):
    model, feeds = _conv_transpose_model(x_shape, w_shape, **attributes)
    (expected,) = run_ort(model, feeds)
    for backend in supported_backends():
        (got,) = Engine(model, backend=backend).run(feeds)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5, err_msg=backend)


@pytest.mark.parametrize(
    "x_shape,w_shape,attributes",
    [
        ((1, 24, 160, 160), (24, 24, 2, 2), {"strides": [2, 2]}),  # seal_det's upsampling: 20 bands of 8 rows
        ((2, 4, 37, 300), (4, 3, 2, 2), {"strides": [2, 2], "group": 2}),  # bands of 18 rows, the last of 1
        ((1, 3, 300, 37), (3, 4, 2, 2), {"strides": [2, 2]}),  # rows of 37 (no whole vectors): 221 + 79
        ((1, 2, 50, 400), (2, 3, 2, 3), {"strides": [2, 3]}),  # three planes per output row, ragged last band
        ((1, 2, 5, 40, 500), (2, 2, 2, 2, 2), {"strides": [2, 2, 2]}),  # 3-D: bands across depth
    ],
)
def test_conv_transpose_upsampling_in_bands(x_shape, w_shape, attributes):
    """Kernel = stride on the GEMM path runs a band of input rows at a time (their products kept in cache,
    128 Ki floats): shapes with many bands, a ragged last band, batches, groups and 3-D, against ONNX
    Runtime, on every backend (the reference backend's direct loop, and one without a GEMM where any is)."""
    model, feeds = _conv_transpose_model(x_shape, w_shape, **attributes)
    (expected,) = run_ort(model, feeds)
    for backend in supported_backends():
        (got,) = Engine(model, backend=backend).run(feeds)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5, err_msg=backend)


def test_conv_transpose_without_bias_and_batch_zero():
    model, feeds = _conv_transpose_model((2, 3, 4, 4), (3, 2, 2, 2), bias=False, strides=[2, 2])
    (expected,) = run_ort(model, feeds)
    np.testing.assert_allclose(Engine(model).run(feeds)[0], expected, rtol=1e-5, atol=1e-5)


def test_conv_transpose_keeps_nothing_stale():
    """The transposed weights and dense kernels are kept between runs only while W is a constant and the
    sizes stay: spatial sizes that change and come back, and W fed as a graph input with new values each
    run, all against ONNX Runtime."""
    w = numpy_helper.from_array(_normal(3, 4, 2, 2), "w")
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "H", "W"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=[w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    model = model.SerializeToString()
    engine = Engine(model)
    for hw in ((4, 4), (6, 5), (4, 4)):
        feeds = {"x": _normal(1, 3, *hw, scale=1.0)}
        np.testing.assert_allclose(engine.run(feeds)[0], run_ort(model, feeds)[0], rtol=1e-5, atol=1e-5)
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4]),
                                            helper.make_tensor_value_info("w", TensorProto.FLOAT, [3, 4, 2, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    fed = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    fed.ir_version = 8
    fed = fed.SerializeToString()
    engine = Engine(fed)
    x = _normal(1, 3, 4, 4, scale=1.0)
    for seed in range(3):
        feeds = {"x": x, "w": np.random.default_rng(seed).normal(size=(3, 4, 2, 2)).astype(np.float32)}
        np.testing.assert_allclose(engine.run(feeds)[0], run_ort(fed, feeds)[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "attributes,message",
    [
        ({"auto_pad": "SAME"}, "unknown auto_pad 'SAME'"),
        ({"strides": [2]}, "strides has 1 values, expected 2"),
        ({"group": 2}, "group 2"),
        ({"output_padding": [2, 0]}, r"output_padding must be in \[0, max\(stride, dilation\)\)"),
        ({"kernel_shape": [2, 2]}, "kernel_shape disagrees"),
    ],
)
def test_conv_transpose_bad_attributes_are_refused(attributes, message):
    model, feeds = _conv_transpose_model((1, 3, 4, 4), (3, 2, 3, 3), bias=False, **attributes)
    with pytest.raises(ValueError, match=message):
        Engine(model).run(feeds)


@pytest.mark.parametrize("activation", ["Tanh", "Sigmoid"])
def test_tanh_and_sigmoid_are_accurate(activation):
    """The cells' tanh / sigmoid come from a fast exp (and an odd polynomial for tanh near 0): an RNN with
    W = 1, R = 0 outputs f(x) itself, held to float64's formula within 1e-6 relative over [-12, 12],
    around the polynomial's switch at |x| = 0.1, and at tiny / subnormal-adjacent values."""
    x = np.concatenate([np.linspace(-12, 12, 20001), [0.0999, 0.1, 0.1001, -0.1, 1e-5, -1e-5, 1e-30, 0.0]])
    x = x.astype(np.float32)
    node = helper.make_node("RNN", ["x", "w", "r"], ["y"], hidden_size=1, activations=[activation])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, x.size, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[
            numpy_helper.from_array(np.ones((1, 1, 1), np.float32), "w"),
            numpy_helper.from_array(np.zeros((1, 1, 1), np.float32), "r"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    for backend in supported_backends():
        y = Engine(model.SerializeToString(), backend=backend).run({"x": x.reshape(1, -1, 1)})[0].ravel()
        x64 = x.astype(np.float64)
        expected = np.tanh(x64) if activation == "Tanh" else 1 / (1 + np.exp(-x64))
        scale = np.maximum(np.abs(expected), np.finfo(np.float32).tiny)
        assert np.max(np.abs(y - expected) / scale) < 1e-6, backend
