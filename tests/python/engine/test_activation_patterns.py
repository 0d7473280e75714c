"""Activations exported models spell out (issue 21): HardSwish / HardSigmoid / Swish / Gelu as ops
or written out (x·sigmoid(x), x·HardSigmoid(x), Add -> Clip -> Mul -> Div and its variants,
x·(1 + erf(x/√2))·0.5 in its three orders) are recognised and fused into the Conv / Gemm / MatMul
before them, through the Identity nodes exporters put between ops; patterns with other constants
or with an intermediate read elsewhere are left unfused. Every graph is held against ONNX Runtime on
every backend (FP32), static and dynamic INT8 against the reference backend's, and the fusion is
checked in the engine's plan."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from ort_reference import max_relative_error, run_ort

from edgequant import Engine
from edgequant.engine import supported_backends

C, H = 8, 10
RNG = np.random.default_rng(21)
SIXTH = np.float32(1 / 6)


def weight(name, cout=C, cin=C, k=3, rng=RNG):
    w = rng.normal(size=(cout, cin, k, k)) * 3 / np.sqrt(cin * k * k)  # outputs spread over -3..3 and past
    return numpy_helper.from_array(w.astype(np.float32), name)


def scalar(name, value):
    return numpy_helper.from_array(np.array(value, np.float32), name)


def model(nodes, initializers, outputs=("y",), opset=17, x_shape=("N", C, H, H)) -> bytes:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))
    ys = [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in outputs]  # shapes left out
    m = helper.make_model(
        helper.make_graph(nodes, "patterns", [x], ys, initializers), opset_imports=[helper.make_opsetid("", opset)]
    )
    return m.SerializeToString()


def conv_then(act_nodes, inits=(), out="a", **kw):
    """x -> Conv -> `act_nodes` (which read "a" and write "y")."""
    return model([helper.make_node("Conv", ["x", "w"], [out], pads=[1] * 4), *act_nodes], [weight("w"), *inits], **kw)


def node(op, inputs, output, **attrs):
    return helper.make_node(op, inputs, [output], **attrs)


CONSTS = [scalar("three", 3), scalar("zero", 0), scalar("six", 6), scalar("sixth", SIXTH)]


GELU_CONSTS = [scalar("sqrt2", np.sqrt(2)), scalar("inv_sqrt2", 1 / np.sqrt(2)), scalar("one", 1), scalar("half", 0.5)]


def gelu_written_out(order, divisor="sqrt2", extra=()):
    """x·(1 + erf(x/√2))·0.5 with the factors in `order` (PyTorch's export is "product_then_half")."""
    nodes = [node("Div", ["a", divisor], "u")] if order != "inv_sqrt2" else [node("Mul", ["inv_sqrt2", "a"], "u")]
    nodes += [node("Erf", ["u"], "e"), node("Add", ["e", "one"], "s")]
    if order in ("product_then_half", "inv_sqrt2"):
        nodes += [node("Mul", ["a", "s"], "m"), node("Mul", ["m", "half"], "y")]
    elif order == "half_of_s":
        nodes += [node("Mul", ["half", "s"], "h"), node("Mul", ["a", "h"], "y")]
    elif order == "half_of_x":
        nodes += [node("Mul", ["a", "half"], "h"), node("Mul", ["s", "h"], "y")]
    return conv_then(nodes, [*GELU_CONSTS, *extra], opset=11)


def paddle_style():
    """Conv -> Identity -> Add(bias) -> Identity -> Mul(scale) -> Identity -> HardSigmoid·x -> Identity: the
    learnable affine block of PP-LCNetV3 as Paddle exports it, an Identity after every op."""
    bias = numpy_helper.from_array(RNG.normal(size=(1, C, 1, 1)).astype(np.float32), "bias")
    nodes = [
        node("Identity", ["a"], "i0"), node("Add", ["i0", "bias"], "b"), node("Identity", ["b"], "i1"),
        node("Mul", ["scale", "i1"], "c"), node("Identity", ["c"], "i2"),
        node("HardSigmoid", ["i2"], "g", alpha=float(SIXTH)), node("Mul", ["g", "i2"], "h"),
        node("Identity", ["h"], "y"),
    ]
    return conv_then(nodes, [bias, scalar("scale", 1.07)])


def written_out(relu6, tail):
    """x·Relu6(x + 3)/6 in the form `tail` over the Relu6 form `relu6`."""
    nodes = [node("Add", ["a", "three"], "t")]
    opset = 17
    if relu6 == "clip_inputs":
        nodes.append(node("Clip", ["t", "zero", "six"], "r"))
    elif relu6 == "clip_attributes":
        nodes.append(node("Clip", ["t"], "r", min=0.0, max=6.0))
        opset = 10
    elif relu6 == "min_max":
        nodes += [node("Max", ["t", "zero"], "u"), node("Min", ["u", "six"], "r")]
    elif relu6 == "max_min":
        nodes += [node("Min", ["six", "t"], "u"), node("Max", ["zero", "u"], "r")]
    if tail == "mul_div":  # PyTorch's and Paddle's export: (x · r) / 6
        nodes += [node("Mul", ["a", "r"], "m"), node("Div", ["m", "six"], "y")]
    elif tail == "mul_sixth":
        nodes += [node("Mul", ["r", "a"], "m"), node("Mul", ["sixth", "m"], "y")]
    elif tail == "gate_first":  # x · (r / 6): HardSigmoid, then x · HardSigmoid(x)
        nodes += [node("Div", ["r", "six"], "g"), node("Mul", ["g", "a"], "y")]
    return conv_then(nodes, CONSTS, opset=opset)


# name -> (model, the op types the plan must list)
FUSED = {
    "hardswish_op": (lambda: conv_then([node("HardSwish", ["a"], "y")]), ["Conv"]),
    "hardsigmoid_op": (lambda: conv_then([node("HardSigmoid", ["a"], "y")]), ["Conv"]),
    "hardsigmoid_paddle": (lambda: conv_then([node("HardSigmoid", ["a"], "y", alpha=0.1666667, beta=0.5)]), ["Conv"]),
    "swish": (lambda: conv_then([node("Sigmoid", ["a"], "s"), node("Mul", ["s", "a"], "y")]), ["Conv"]),
    "x_times_hardsigmoid": (
        lambda: conv_then([node("HardSigmoid", ["a"], "g", alpha=float(SIXTH)), node("Mul", ["a", "g"], "y")]),
        ["Conv"],
    ),
    "hardsigmoid_written_out": (
        lambda: conv_then(
            [node("Add", ["three", "a"], "t"), node("Clip", ["t", "zero", "six"], "r"), node("Div", ["r", "six"], "y")],
            CONSTS,
        ),
        ["Conv"],
    ),
    **{
        f"hardswish_{relu6}_{tail}": (lambda r=relu6, t=tail: written_out(r, t), ["Conv"])
        for relu6 in ("clip_inputs", "clip_attributes", "min_max", "max_min")
        for tail in ("mul_div", "mul_sixth", "gate_first")
    },
    **{f"gelu_{order}": (lambda o=order: gelu_written_out(o), ["Conv"])
       for order in ("product_then_half", "inv_sqrt2", "half_of_s", "half_of_x")},
    "gelu_op": (lambda: conv_then([node("Gelu", ["a"], "y")], opset=20), ["Conv"]),
    "identities_between": (paddle_style, ["Conv"]),
    "gemm_hardswish": (
        lambda: model(
            [
                node("Flatten", ["x"], "f"),
                node("Gemm", ["f", "wg"], "a", transB=1),
                node("Add", ["a", "three"], "t"),
                node("Clip", ["t", "zero", "six"], "r"),
                node("Mul", ["a", "r"], "m"),
                node("Div", ["m", "six"], "y"),
            ],
            [numpy_helper.from_array(RNG.normal(size=(16, C * H * H)).astype(np.float32) / 10, "wg"), *CONSTS],
        ),
        ["Flatten", "Gemm"],
    ),
    "matmul_swish": (
        lambda: model(
            [node("MatMul", ["x", "wm"], "a"), node("Sigmoid", ["a"], "s"), node("Mul", ["a", "s"], "y")],
            [numpy_helper.from_array(RNG.normal(size=(H, 12)).astype(np.float32), "wm")],
        ),
        ["MatMul"],
    ),
}


def images(n=3, seed=0, shape=(C, H, H)):
    return (np.random.default_rng(seed).normal(size=(n, *shape)) * 2).astype(np.float32)


def op_types(engine):
    return [op for _, op, _ in engine.plan()]


@pytest.mark.parametrize("backend", supported_backends())
@pytest.mark.parametrize("name", sorted(FUSED))
def test_pattern_fuses_and_matches_onnxruntime(name, backend):
    build, fused_ops = FUSED[name]
    m = build()
    x = images()
    (ref,) = run_ort(m, {"x": x})
    engine = Engine(m, backend=backend, threads=1)
    assert op_types(engine) == fused_ops
    (out,) = engine.run(x)
    assert out.shape == ref.shape
    assert max_relative_error(out, ref) < 1e-5
    assert np.ptp(ref) > 0.5  # not a flat part of the activation only


# name -> (model, what stays unfused)
UNFUSED = {
    "add_2.9": lambda: conv_then(
        [
            node("Add", ["a", "c"], "t"),
            node("Clip", ["t", "zero", "six"], "r"),
            node("Mul", ["a", "r"], "m"),
            node("Div", ["m", "six"], "y"),
        ],
        [scalar("c", 2.9), *CONSTS],
    ),
    "clip_0_5": lambda: conv_then(
        [
            node("Add", ["a", "three"], "t"),
            node("Clip", ["t", "zero", "c"], "r"),
            node("Mul", ["a", "r"], "m"),
            node("Div", ["m", "six"], "y"),
        ],
        [scalar("c", 5), *CONSTS],
    ),
    "div_5": lambda: conv_then(
        [
            node("Add", ["a", "three"], "t"),
            node("Clip", ["t", "zero", "six"], "r"),
            node("Mul", ["a", "r"], "m"),
            node("Div", ["m", "c"], "y"),
        ],
        [scalar("c", 5), *CONSTS],
    ),
    "mul_0.17": lambda: conv_then(
        [
            node("Add", ["a", "three"], "t"),
            node("Clip", ["t", "zero", "six"], "r"),
            node("Mul", ["a", "r"], "m"),
            node("Mul", ["m", "c"], "y"),
        ],
        [scalar("c", 0.17), *CONSTS],
    ),
    "clip_no_lower_bound": lambda: conv_then(
        [
            node("Add", ["a", "three"], "t"),
            node("Clip", ["t", "", "six"], "r"),
            node("Mul", ["a", "r"], "m"),
            node("Div", ["m", "six"], "y"),
        ],
        CONSTS,
    ),
    "per_channel_three": lambda: conv_then(
        [
            node("Add", ["a", "c"], "t"),
            node("Clip", ["t", "zero", "six"], "r"),
            node("Mul", ["a", "r"], "m"),
            node("Div", ["m", "six"], "y"),
        ],
        [numpy_helper.from_array(np.full((C, 1, 1), 3, np.float32), "c"), *CONSTS],
    ),
    "other_operand": lambda: conv_then(
        [
            node("Relu", ["a"], "b"),
            node("Add", ["b", "three"], "t"),
            node("Clip", ["t", "zero", "six"], "r"),
            node("Mul", ["a", "r"], "m"),
            node("Div", ["m", "six"], "y"),
        ],
        CONSTS,
    ),
    "gelu_div_1.5": lambda: gelu_written_out("product_then_half", divisor="c", extra=[scalar("c", 1.5)]),
    "hardsigmoid_alpha_0.2_times_x": lambda: conv_then([node("HardSigmoid", ["a"], "g"), node("Mul", ["a", "g"], "y")]),
    "sigmoid_of_another_value": lambda: conv_then(
        [node("Relu", ["a"], "b"), node("Sigmoid", ["b"], "s"), node("Mul", ["a", "s"], "y")]
    ),
    # An intermediate with another reader: the graph keeps it.
    "clip_read_twice": lambda: conv_then(
        [
            node("Add", ["a", "three"], "t"),
            node("Clip", ["t", "zero", "six"], "r"),
            node("Mul", ["a", "r"], "m"),
            node("Div", ["m", "six"], "h"),
            node("Add", ["h", "r"], "y"),
        ],
        CONSTS,
    ),
    "product_is_an_output": lambda: conv_then(
        [
            node("Add", ["a", "three"], "t"),
            node("Clip", ["t", "zero", "six"], "r"),
            node("Mul", ["a", "r"], "m"),
            node("Div", ["m", "six"], "y"),
        ],
        CONSTS,
        outputs=("y", "m"),
    ),
    "sigmoid_is_an_output": lambda: conv_then(
        [node("Sigmoid", ["a"], "s"), node("Mul", ["s", "a"], "y")], outputs=("y", "s")
    ),
}


@pytest.mark.parametrize("backend", supported_backends())
@pytest.mark.parametrize("name", sorted(UNFUSED))
def test_near_misses_stay_unfused_and_correct(name, backend):
    m = UNFUSED[name]()
    x = images()
    refs = run_ort(m, {"x": x})
    engine = Engine(m, backend=backend, threads=1)
    ops = op_types(engine)
    assert not ({"HardSwish", "Swish", "Gelu"} & set(ops)), ops  # nothing was made of the near miss
    assert len(ops) >= 3, ops
    for out, ref in zip(engine.run(x), refs, strict=True):
        assert max_relative_error(out, ref) < 1e-5


def test_an_output_still_fuses_what_is_left():
    """x·sigmoid(x) with the product read twice: the Swish still fuses, its output kept."""
    m = conv_then(
        [node("Sigmoid", ["a"], "s"), node("Mul", ["s", "a"], "y"), node("Relu", ["y"], "z")], outputs=("y", "z")
    )
    engine = Engine(m, threads=1)
    assert op_types(engine) == ["Conv", "Relu"]
    x = images()
    for out, ref in zip(engine.run(x), run_ort(m, {"x": x}), strict=True):
        assert max_relative_error(out, ref) < 1e-5


def int8_model():
    """Conv -> written-out HardSwish -> Conv -> HardSigmoid -> Conv: the activations in INT8 convs."""
    nodes = [
        node("Conv", ["x", "w1"], "a", pads=[1] * 4),
        node("Add", ["a", "three"], "t"),
        node("Clip", ["t", "zero", "six"], "r"),
        node("Mul", ["a", "r"], "m"),
        node("Div", ["m", "six"], "h"),
        node("Conv", ["h", "w2"], "b", pads=[1] * 4),
        node("HardSigmoid", ["b"], "g", alpha=float(SIXTH)),
        node("Conv", ["g", "w3"], "y", pads=[1] * 4),
    ]
    rng = np.random.default_rng(8)  # its own weights, whichever tests run before
    return model(nodes, [*(weight(f"w{k}", rng=rng) for k in (1, 2, 3)), *CONSTS])


def int8_gelu_model():
    """Conv -> x·(1 + erf(x/√2))·0.5 -> Conv -> Gelu op -> Conv: GELU in INT8 convs, through the table."""
    nodes = [
        node("Conv", ["x", "w1"], "a", pads=[1] * 4),
        node("Div", ["a", "sqrt2"], "u"), node("Erf", ["u"], "e"), node("Add", ["e", "one"], "s"),
        node("Mul", ["a", "s"], "m"), node("Mul", ["m", "half"], "h"),
        node("Conv", ["h", "w2"], "b", pads=[1] * 4),
        node("Gelu", ["b"], "g"),
        node("Conv", ["g", "w3"], "y", pads=[1] * 4),
    ]
    rng = np.random.default_rng(8)  # its own weights, whichever tests run before
    return model(nodes, [*(weight(f"w{k}", rng=rng) for k in (1, 2, 3)), *GELU_CONSTS], opset=20)


@pytest.mark.parametrize("build", [int8_model, int8_gelu_model], ids=["hard", "gelu"])
@pytest.mark.parametrize("mode", ["static", "dynamic"])
@pytest.mark.parametrize("backend", supported_backends())
def test_int8_fused_activations_match_the_reference_backend(backend, mode, build):
    m = build()
    x, calibration = images(4, seed=1), images(16, seed=2) if mode == "static" else None
    (fp32,) = Engine(m, threads=1).run(x)
    assert max_relative_error(fp32, run_ort(m, {"x": x})[0]) < 1e-5
    engines = {b: Engine(m, mode=mode, calibration=calibration, threads=1, backend=b) for b in {backend, "reference"}}
    for engine in engines.values():
        assert [(op, p) for _, op, p in engine.plan()] == [("Conv", f"int8_{mode}")] * 3
    out, ref = engines[backend].run(x)[0], engines["reference"].run(x)[0]
    assert 1e-4 < max_relative_error(ref, fp32) < 0.05  # INT8 ran: quantization noise, but close
    assert max_relative_error(out, ref) < 0.02  # the same arithmetic up to a u8 rounding step


def test_identities_go_but_the_files_names_stay(tmp_path):
    """Conv -> Identity -> Conv -> Identity (the output): both Identities go (each conv writes the
    Identity's output itself), and the names a static save_quantized writes its pairs on are the file's."""
    m = model([node("Conv", ["x", "w1"], "a", pads=[1] * 4), node("Identity", ["a"], "i"),
               node("Conv", ["i", "w2"], "b", pads=[1] * 4), node("Identity", ["b"], "y")],
              [weight("w1"), weight("w2")])
    engine = Engine(m, mode="static", calibration=images(8, seed=3), threads=1)
    assert op_types(engine) == ["Conv", "Conv"]
    x = images()
    assert max_relative_error(Engine(m, threads=1).run(x)[0], run_ort(m, {"x": x})[0]) < 1e-5
    engine.save_quantized(tmp_path / "q.onnx")
    written = onnx.load(tmp_path / "q.onnx")
    quantized = {n.input[0] for n in written.graph.node if n.op_type == "QuantizeLinear"}
    assert {"x", "i"} <= quantized, quantized  # both convs' inputs, by the file's names


def transposes(perms, outputs=("y",), extra=()):
    nodes, value = [], "x"
    for k, perm in enumerate(perms):
        nodes.append(node("Transpose", [value], f"t{k}", perm=perm))
        value = f"t{k}"
    nodes.append(node("Relu", [value], "y"))
    return model(nodes + list(extra), [], outputs=outputs, x_shape=(2, 3, 4, 5))


TRANSPOSES = {
    "cancel": ([[0, 2, 3, 1], [0, 3, 1, 2]], ["Relu"]),
    "three_cancel": ([[1, 0, 2, 3], [0, 2, 3, 1], [3, 0, 1, 2]], ["Relu"]),
    "compose": ([[0, 2, 3, 1], [0, 2, 1, 3]], ["Transpose", "Relu"]),
    "single": ([[3, 2, 1, 0]], ["Transpose", "Relu"]),
}


@pytest.mark.parametrize("backend", supported_backends())
@pytest.mark.parametrize("name", sorted(TRANSPOSES))
def test_transposes_fold(name, backend):
    perms, ops = TRANSPOSES[name]
    m = transposes(perms)
    x = np.random.default_rng(3).normal(size=(2, 3, 4, 5)).astype(np.float32)
    engine = Engine(m, backend=backend, threads=1)
    assert op_types(engine) == ops
    (out,) = engine.run(x)
    (ref,) = run_ort(m, {"x": x})
    np.testing.assert_array_equal(out, ref)


def test_a_transpose_read_elsewhere_stays():
    m = transposes([[0, 2, 3, 1], [0, 3, 1, 2]], outputs=("y", "t0"))
    engine = Engine(m, threads=1)
    assert op_types(engine) == ["Transpose", "Relu"]  # t0 is an output; the second one folded away
    x = np.random.default_rng(4).normal(size=(2, 3, 4, 5)).astype(np.float32)
    for out, ref in zip(engine.run(x), run_ort(m, {"x": x}), strict=True):
        np.testing.assert_array_equal(out, ref)


def test_cancelling_transposes_that_end_in_an_output():
    m = model(
        [node("Transpose", ["x"], "t0", perm=[0, 2, 3, 1]), node("Transpose", ["t0"], "y", perm=[0, 3, 1, 2])],
        [],
        x_shape=(2, 3, 4, 5),
    )
    engine = Engine(m, threads=1)
    assert op_types(engine) == ["Identity"]
    x = np.random.default_rng(5).normal(size=(2, 3, 4, 5)).astype(np.float32)
    np.testing.assert_array_equal(engine.run(x)[0], x)


def pool_then_relu(outputs=("y",)):
    """x -> Conv -> MaxPool (3x3, stride 2, padded) -> Relu, the order some exporters write."""
    pool = node("MaxPool", ["a"], "p", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    return conv_then([pool, node("Relu", ["p"], "y")], outputs=outputs)


@pytest.mark.parametrize("backend", supported_backends())
def test_a_relu_after_a_max_pool_moves_into_the_conv(backend):
    m = pool_then_relu()
    engine = Engine(m, backend=backend, threads=1)
    assert op_types(engine) == ["Conv", "MaxPool"]
    x = RNG.normal(size=(2, C, H, H)).astype(np.float32)
    (out,) = engine.run(x)
    (ref,) = run_ort(m, {"x": x})
    assert (ref == 0).any() and (out >= 0).all() and max_relative_error(out, ref) < 1e-5
    static = Engine(m, mode="static", calibration=x, backend=backend, threads=1)
    assert [p for _, _, p in static.plan()][0] == "int8_static"
    assert max_relative_error(static.run(x)[0], ref) < 0.05


def test_a_relu_after_a_pool_read_elsewhere_stays():
    m = pool_then_relu(outputs=("y", "p"))
    engine = Engine(m, threads=1)
    assert op_types(engine) == ["Conv", "MaxPool", "Relu"]
    x = RNG.normal(size=(1, C, H, H)).astype(np.float32)
    for out, ref in zip(engine.run(x), run_ort(m, {"x": x}), strict=True):
        assert max_relative_error(out, ref) < 1e-5
