"""A constant Mul / Add after a Conv (a bias or scale exported as its own op, as Paddle writes
them) folded into the Conv's weights and bias, so that the activation after it fuses too; constants
that vary along another axis, or broadcast the output, and Conv outputs read elsewhere stay as
they are. Against ONNX Runtime on every backend, the folding checked in the engine's plan."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from ort_reference import max_relative_error, run_ort

from edgequant import Engine
from edgequant.engine import supported_backends

C, H = 6, 9
RNG = np.random.default_rng(5)


def const(name, shape, low=-1.0, high=1.0):
    return numpy_helper.from_array(RNG.uniform(low, high, size=shape).astype(np.float32), name)


def model(nodes, initializers, outputs=("y",), bias=True):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", C, H, H])
    ys = [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in outputs]
    conv = helper.make_node("Conv", ["x", "w", "b"] if bias else ["x", "w"], ["a"], pads=[1, 1, 1, 1])
    inits = [const("w", (C, C, 3, 3), -0.3, 0.3), *([const("b", (C,))] if bias else []), *initializers]
    m = helper.make_model(
        helper.make_graph([conv, *nodes], "affine", [x], ys, inits), opset_imports=[helper.make_opsetid("", 17)]
    )
    return m.SerializeToString()


def n(op, inputs, output, **attrs):
    return helper.make_node(op, inputs, [output], **attrs)


FOLDED = {
    "paddle_bias_then_hardsigmoid": (
        lambda: model(
            [n("Add", ["a", "c"], "t"), n("HardSigmoid", ["t"], "y")], [const("c", (1, C, 1, 1))], bias=False
        ),
        ["Conv"],
    ),
    "scale_then_shift_then_relu": (
        lambda: model(
            [n("Mul", ["s", "a"], "m"), n("Add", ["m", "c"], "t"), n("Relu", ["t"], "y")],
            [const("s", (1,), 0.5, 2), const("c", (C, 1, 1))],
        ),
        ["Conv"],
    ),
    "negative_channel_scale": (lambda: model([n("Mul", ["a", "s"], "y")], [const("s", (C, 1, 1), -2, 2)]), ["Conv"]),
    "scalar_add": (
        lambda: model([n("Add", ["a", "c"], "y")], [numpy_helper.from_array(np.float32(0.25), "c")]),
        ["Conv"],
    ),
}

# After a fused activation (PP-LCNetV3's learnable affine block: HardSwish, then · a + b).
FOLDED_AFTER_ACTIVATION = {
    "hardswish_then_scale_and_shift": lambda: model(
        [n("HardSwish", ["a"], "h"), n("Mul", ["h", "s"], "m"), n("Add", ["c", "m"], "y")],
        [const("s", (1,), -2, -0.5), const("c", ())],
    ),
    "relu_then_shift_then_scale": lambda: model(
        [n("Relu", ["a"], "r"), n("Add", ["r", "c"], "t"), n("Mul", ["t", "s"], "y")],
        [const("s", (1, 1, 1, 1), 0.5, 2), const("c", (1,))],
    ),
    "after_a_residual_sum": lambda: model(
        [n("Add", ["a", "x"], "d"), n("Relu", ["d"], "e"), n("Mul", ["e", "s"], "y")], [const("s", (1,), 0.5, 2)]
    ),
}

NOT_FOLDED = {
    "per_channel_after_an_activation": lambda: model(
        [n("Relu", ["a"], "r"), n("Mul", ["r", "s"], "y")], [const("s", (C, 1, 1), 0.5, 2)]
    ),
    "varies_along_height": lambda: model([n("Add", ["a", "c"], "y")], [const("c", (1, 1, H, 1))]),
    "broadcasts_the_batch": lambda: model([n("Mul", ["a", "c"], "y")], [const("c", (2, C, 1, 1))]),
    "adds_an_axis": lambda: model([n("Add", ["a", "c"], "y")], [const("c", (1, 1, C, 1, 1))]),
    "not_finite": lambda: model([n("Mul", ["a", "c"], "y")], [numpy_helper.from_array(np.float32(np.inf), "c")]),
    "conv_read_twice": lambda: model([n("Add", ["a", "c"], "t"), n("Add", ["t", "a"], "y")], [const("c", (C, 1, 1))]),
    "conv_is_an_output": lambda: model([n("Add", ["a", "c"], "y")], [const("c", (C, 1, 1))], outputs=("y", "a")),
}


def images(n=2, seed=0):
    return np.random.default_rng(seed).normal(size=(n, C, H, H)).astype(np.float32)


@pytest.mark.parametrize("backend", supported_backends())
@pytest.mark.parametrize("name", sorted(FOLDED))
def test_constant_affine_folds_into_the_conv(name, backend):
    build, ops = FOLDED[name]
    m = build()
    engine = Engine(m, backend=backend, threads=1)
    assert [op for _, op, _ in engine.plan()] == ops
    x = images()
    (out,) = engine.run(x)
    (ref,) = run_ort(m, {"x": x})
    assert out.shape == ref.shape
    assert max_relative_error(out, ref) < 1e-5


@pytest.mark.parametrize("backend", supported_backends())
@pytest.mark.parametrize("name", sorted(FOLDED_AFTER_ACTIVATION))
def test_scalar_affine_after_an_activation_fuses(name, backend):
    m = FOLDED_AFTER_ACTIVATION[name]()
    engine = Engine(m, backend=backend, threads=1)
    assert [op for _, op, _ in engine.plan()] == ["Conv"]
    x = images()
    (out,) = engine.run(x)
    (ref,) = run_ort(m, {"x": x})
    assert max_relative_error(out, ref) < 1e-5


@pytest.mark.parametrize("backend", supported_backends())
def test_static_int8_with_the_affine_step_matches_the_reference_backend(backend):
    m = model(
        [
            n("HardSwish", ["a"], "h"),
            n("Mul", ["h", "s"], "m"),
            n("Add", ["m", "c"], "t"),
            n("Conv", ["t", "w2"], "y", pads=[1, 1, 1, 1]),
        ],
        [const("s", (1,), -2, -0.5), const("c", ()), const("w2", (C, C, 3, 3), -0.3, 0.3)],
    )
    x, calibration = images(3, seed=1), images(16, seed=2)
    (fp32,) = Engine(m, threads=1).run(x)
    engines = {
        b: Engine(m, mode="static", calibration=calibration, threads=1, backend=b) for b in {backend, "reference"}
    }
    for engine in engines.values():
        assert [(op, p) for _, op, p in engine.plan()] == [("Conv", "int8_static")] * 2
    out, ref = engines[backend].run(x)[0], engines["reference"].run(x)[0]
    assert 1e-4 < max_relative_error(ref, fp32) < 0.05  # INT8 ran: quantization noise, but close
    assert max_relative_error(out, ref) < 0.02


@pytest.mark.parametrize("backend", supported_backends())
@pytest.mark.parametrize("name", sorted(NOT_FOLDED))
def test_other_constants_and_readers_stay(name, backend):
    m = NOT_FOLDED[name]()
    engine = Engine(m, backend=backend, threads=1)
    assert len(engine.plan()) >= 2
    x = images()
    for out, ref in zip(engine.run(x), run_ort(m, {"x": x}), strict=True):
        assert out.shape == ref.shape
        finite = np.isfinite(ref)
        np.testing.assert_array_equal(np.isfinite(out), finite)  # inf · conv: the same infinities
        scale = np.abs(ref[finite]).max() if finite.any() else 1.0
        np.testing.assert_allclose(out[finite], ref[finite], rtol=1e-5, atol=1e-5 * scale)
