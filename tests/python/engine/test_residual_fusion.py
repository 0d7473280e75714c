"""Conv+Add fused as a sum post-op: every pattern a residual Add takes (BatchNormalization folded
first, activations before and after the sum, two Conv operands, the residual a graph input, an
Add that broadcasts) against ONNX Runtime on every backend, and INT8 against FP32."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from ort_reference import max_relative_error, run_ort

from edgequant import Engine
from edgequant.engine import supported_backends

C, H = 8, 10
RNG = np.random.default_rng(7)


def weight(name, cout=C, cin=C, k=3):
    return numpy_helper.from_array((RNG.normal(size=(cout, cin, k, k)) / np.sqrt(cin * k * k)).astype(np.float32), name)


def batch_norm(x, y, prefix):
    inits = [numpy_helper.from_array(RNG.uniform(0.5, 1.5, C).astype(np.float32), prefix + "_gamma"),
             numpy_helper.from_array(RNG.normal(size=C).astype(np.float32), prefix + "_beta"),
             numpy_helper.from_array(RNG.normal(size=C).astype(np.float32) * 0.1, prefix + "_mean"),
             numpy_helper.from_array(RNG.uniform(0.5, 1.5, C).astype(np.float32), prefix + "_var")]
    return helper.make_node("BatchNormalization", [x, *(i.name for i in inits)], [y]), inits


def model(nodes, initializers) -> bytes:
    x, y = (helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", C, H, H]) for name in ("x", "y"))
    graph = helper.make_graph(nodes, "residual", [x], [y], initializers)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    return m.SerializeToString()


def conv(x, y, w, pads=1, **kw):
    return helper.make_node("Conv", [x, w], [y], pads=[pads] * 4, **kw)


def basic_block():
    bn, inits = batch_norm("c0", "c", "bn")
    return model([conv("x", "a", "w1"), helper.make_node("Relu", ["a"], ["b"]), conv("b", "c0", "w2"), bn,
                  helper.make_node("Add", ["c", "x"], ["d"]), helper.make_node("Relu", ["d"], ["y"])],
                 [weight("w1"), weight("w2"), *inits])


def downsample_block():  # both operands are convs, the later one (the shortcut) takes the sum
    return model([conv("x", "a", "w1"), helper.make_node("Relu", ["a"], ["b"]), conv("b", "c", "w2"),
                  conv("x", "e", "w3", pads=0), helper.make_node("Add", ["c", "e"], ["d"]),
                  helper.make_node("Relu", ["d"], ["y"])], [weight("w1"), weight("w2"), weight("w3", k=1)])


def silu_then_add():  # YOLOv8's bottleneck: Conv+SiLU, then the shortcut Add, nothing after
    return model([conv("x", "a", "w1"), helper.make_node("Sigmoid", ["a"], ["s"]),
                  helper.make_node("Mul", ["a", "s"], ["b"]), helper.make_node("Add", ["x", "b"], ["y"])],
                 [weight("w1")])


def clip_after_add():  # MobileNet-style linear bottleneck with a Clip after the sum
    return model([conv("x", "a", "w1"), helper.make_node("Add", ["a", "x"], ["d"]),
                  helper.make_node("Clip", ["d", "lo", "hi"], ["y"])],
                 [weight("w1"), numpy_helper.from_array(np.float32(0), "lo"),
                  numpy_helper.from_array(np.float32(1), "hi")])


def broadcast_residual():  # the residual is [N, C, 1, 1]: the generic Add runs after the conv
    return model([helper.make_node("GlobalAveragePool", ["x"], ["g"]), conv("x", "a", "w1"),
                  helper.make_node("Add", ["a", "g"], ["d"]), helper.make_node("Relu", ["d"], ["y"])], [weight("w1")])


def broadcast_conv():  # the conv output is the smaller operand: the output takes the residual's shape
    return model([helper.make_node("GlobalAveragePool", ["x"], ["g"]), conv("g", "a", "w1", pads=0),
                  helper.make_node("Add", ["a", "x"], ["d"]), helper.make_node("Relu", ["d"], ["y"])],
                 [weight("w1", k=1)])


def chained_blocks():  # a fused block's output is the next block's residual and conv input
    return model([conv("x", "a", "w1"), helper.make_node("Add", ["a", "x"], ["b"]),
                  helper.make_node("Relu", ["b"], ["c"]), conv("c", "d", "w2"),
                  helper.make_node("Add", ["c", "d"], ["e"]), helper.make_node("Relu", ["e"], ["y"])],
                 [weight("w1"), weight("w2")])


def quantized_residual():  # the residual is a conv output other convs read too: static INT8 keeps it u8
    return model([conv("x", "h0", "w0"), helper.make_node("Relu", ["h0"], ["h"]), conv("h", "a", "w1"),
                  helper.make_node("Relu", ["a"], ["b"]), conv("b", "c", "w2"),
                  helper.make_node("Add", ["c", "h"], ["d"]), helper.make_node("Relu", ["d"], ["e"]),
                  conv("e", "y", "w3")],
                 [weight("w0"), weight("w1"), weight("w2"), weight("w3")])


PATTERNS = {f.__name__: f for f in (basic_block, downsample_block, silu_then_add, clip_after_add, broadcast_residual,
                                    broadcast_conv, chained_blocks, quantized_residual)}


def images(n=3, seed=0):
    return np.random.default_rng(seed).normal(size=(n, C, H, H)).astype(np.float32)


@pytest.mark.parametrize("backend", supported_backends())
@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_fused_add_matches_onnxruntime(name, backend):
    m = PATTERNS[name]()
    x = images()
    (ref,) = run_ort(m, {"x": x})
    engine = Engine(m, backend=backend, threads=1)
    (out,) = engine.run(x)
    assert out.shape == ref.shape
    assert max_relative_error(out, ref) < 1e-5
    (again,) = engine.run(x)  # cached kernels and buffers give the same answer again
    np.testing.assert_array_equal(again, out)
    (one,) = engine.run(x[1:2])  # rebuilt for another batch
    assert max_relative_error(one, ref[1:2]) < 1e-5


def test_the_add_disappears_into_the_conv():
    engine = Engine(basic_block(), threads=1)
    engine.profile_layers()
    engine.run(images())
    ops = [op for _, op, _, _ in engine.layer_times()]
    assert ops == ["Conv", "Conv"]  # BatchNormalization, both Relus and the Add are fused


@pytest.mark.parametrize("mode", ["dynamic", "static"])
@pytest.mark.parametrize("name", ["basic_block", "downsample_block", "chained_blocks", "quantized_residual"])
def test_int8_fused_add_stays_close_to_fp32(name, mode):
    m = PATTERNS[name]()
    x = images(4, seed=1)
    (ref,) = Engine(m, threads=1).run(x)
    calibration = images(16, seed=2) if mode == "static" else None
    outs = {backend: Engine(m, mode=mode, calibration=calibration, threads=1, backend=backend).run(x)[0]
            for backend in supported_backends()}
    for out in outs.values():
        assert max_relative_error(out, ref) < 0.03
    # Same arithmetic on every backend up to a rounding step of the u8 activations.
    for backend, out in outs.items():
        assert max_relative_error(out, outs["reference"]) < 0.02, backend
