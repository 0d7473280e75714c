"""Every float32 kernel of the fast backend (oneDNN primitives, the Winograd conv, the portable vectorised
kernels) held against the reference backend's loops on extreme inputs: huge values (1e30, and up to 3e38
near FLT_MAX), subnormals, and one pixel of outliers (1e6, 1e30) among values ~1. Expected: the same
NaN / Inf positions as the reference, and finite values within a relative tolerance of the output range.

Weights are scaled so that every output channel's sum of |w| is at most 1: no partial sum of any
summation order can overflow where the exact result does not, so finiteness is well defined. With an
outlier, the outputs that do not depend on it (those the reference computes alike without it) are also held
to a tolerance of their own range: a kernel that mixes values across pixels (Winograd's tiles) must not
spread an outlier's rounding error onto them."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgequant import Engine
from edgequant.engine import supported_backends

pytestmark = pytest.mark.skipif("onednn" not in supported_backends(), reason="the oneDNN backend is not built")

FLT_MAX = float(np.finfo(np.float32).max)
RTOL = 2e-5  # of the output range: float32 rounding over sums of up to ~600 terms
SUBNORMAL_ATOL = 2 ** -149 * 64  # products of subnormals keep only their absolute spacing


def weights(rng, shape):
    """Random weights whose |sum| over all but the first axis is at most 1 per output channel."""
    w = rng.standard_normal(shape)
    w /= np.abs(w).reshape(shape[0], -1).sum(axis=1).reshape((-1,) + (1,) * (len(shape) - 1))
    return w.astype(np.float32)


def model(nodes, inits, inputs, output="y"):
    graph = helper.make_graph(nodes, "extreme",
                              [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
                              [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


def conv(ic, oc, size, kernel=3, stride=1, group=1, activation=None, bias=False, residual=False):
    rng = np.random.default_rng(ic * 31 + oc + kernel + stride + group)
    inits = [numpy_helper.from_array(weights(rng, (oc, ic // group, kernel, kernel)), "W")]
    names = ["x", "W"]
    if bias:
        inits.append(numpy_helper.from_array(rng.standard_normal(oc).astype(np.float32) * np.float32(0.1), "B"))
        names.append("B")
    nodes = [helper.make_node("Conv", names, ["c"], kernel_shape=[kernel, kernel], pads=[kernel // 2] * 4,
                              strides=[stride, stride], group=group)]
    last = "c"
    if residual:  # Conv + Add (a fused sum post-op) + ReLU after the sum; the residual is x scaled down
        inits.append(numpy_helper.from_array(np.float32(0.5), "half"))
        nodes += [helper.make_node("Mul", ["x", "half"], ["r"]), helper.make_node("Add", ["c", "r"], ["s"])]
        last = "s"
    if activation == "relu":
        nodes.append(helper.make_node("Relu", [last], ["y"]))
    elif activation == "clip":
        inits += [numpy_helper.from_array(np.float32(-1e20), "lo"), numpy_helper.from_array(np.float32(1e25), "hi")]
        nodes.append(helper.make_node("Clip", [last, "lo", "hi"], ["y"]))
    elif activation == "silu":
        nodes += [helper.make_node("Sigmoid", [last], ["g"]), helper.make_node("Mul", [last, "g"], ["y"])]
    else:
        nodes.append(helper.make_node("Identity", [last], ["y"]))
    return model(nodes, inits, [("x", [1, ic, size, size])])


def after_conv(ic, size, nodes, inits=()):
    """An identity 1x1 conv (its output, the input's values, in the backend's own layout, where the layout
    kernels apply) and then `nodes`, reading 'c' and writing 'y'."""
    identity = np.eye(ic, dtype=np.float32).reshape(ic, ic, 1, 1)
    convs = [helper.make_node("Conv", ["x", "W"], ["c"], kernel_shape=[1, 1])]
    return model(convs + list(nodes), [numpy_helper.from_array(identity, "W"), *inits], [("x", [1, ic, size, size])])


def dense(k, n, size, op="Gemm", activation=None):
    rng = np.random.default_rng(k + n)
    w = weights(rng, (n, k))
    if op == "Gemm":
        inits = [numpy_helper.from_array(w, "W")]
        nodes = [helper.make_node("Gemm", ["x", "W"], ["d"], transB=1)]
    else:
        inits = [numpy_helper.from_array(np.ascontiguousarray(w.T), "W")]
        nodes = [helper.make_node("MatMul", ["x", "W"], ["d"])]
    if activation == "silu":
        nodes += [helper.make_node("Sigmoid", ["d"], ["g"]), helper.make_node("Mul", ["d", "g"], ["y"])]
    else:
        nodes.append(helper.make_node("Relu" if activation == "relu" else "Identity", ["d"], ["y"]))
    return model(nodes, inits, [("x", [size, k])])


def single(op, shape, **attributes):
    return model([helper.make_node(op, ["x"], ["y"], **attributes)], [], [("x", shape)])


KERNELS = {  # name: (model, input shape)
    "conv general 3x3 s2 + relu": (conv(8, 16, 17, stride=2, activation="relu"), (1, 8, 17, 17)),
    "conv 5x5 + bias": (conv(16, 24, 13, kernel=5, bias=True), (1, 16, 13, 13)),
    "conv 1x1 + clip": (conv(32, 32, 12, kernel=1, activation="clip"), (1, 32, 12, 12)),
    "conv depthwise + silu": (conv(32, 32, 15, group=32, activation="silu"), (1, 32, 15, 15)),
    "conv grouped": (conv(32, 48, 14, group=4), (1, 32, 14, 14)),
    "conv winograd": (conv(64, 64, 24), (1, 64, 24, 24)),
    "conv winograd + silu": (conv(48, 40, 22, activation="silu"), (1, 48, 22, 22)),
    "conv winograd + residual sum + relu": (conv(32, 32, 21, residual=True, activation="relu"), (1, 32, 21, 21)),
    "conv direct + residual sum": (conv(16, 16, 12, residual=True), (1, 16, 12, 12)),
    "conv channel sum (1x1 to one channel)": (conv(16, 1, 10, kernel=1), (1, 16, 10, 10)),
    "gemm + relu": (dense(64, 48, 5, activation="relu"), (5, 64)),
    "matmul": (dense(96, 32, 7, op="MatMul"), (7, 96)),
    "matmul + silu": (dense(40, 24, 6, op="MatMul", activation="silu"), (6, 40)),
    "max pool 3x3 s2": (single("MaxPool", (1, 16, 15, 15), kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4),
                        (1, 16, 15, 15)),
    "average pool 2x2": (single("AveragePool", (1, 16, 14, 14), kernel_shape=[2, 2], strides=[2, 2]),
                         (1, 16, 14, 14)),
    "average pool 3x3 pads": (single("AveragePool", (1, 16, 13, 13), kernel_shape=[3, 3], pads=[1] * 4),
                              (1, 16, 13, 13)),
    "average pool 2x2 (native layout)": (
        after_conv(16, 12, [helper.make_node("AveragePool", ["c"], ["y"], kernel_shape=[2, 2], strides=[2, 2])]),
        (1, 16, 12, 12)),
    "max pool 2x2 (native layout)": (
        after_conv(16, 12, [helper.make_node("MaxPool", ["c"], ["y"], kernel_shape=[2, 2], strides=[2, 2])]),
        (1, 16, 12, 12)),
    "global average pool": (single("GlobalAveragePool", (1, 16, 9, 9)), (1, 16, 9, 9)),
    "softmax axis 1": (single("Softmax", (1, 16, 6, 7), axis=1), (1, 16, 6, 7)),
    "softmax last axis": (single("Softmax", (3, 40), axis=-1), (3, 40)),
    "log softmax": (single("LogSoftmax", (3, 40), axis=-1), (3, 40)),
    "sigmoid": (single("Sigmoid", (4, 300)), (4, 300)),
    "relu": (single("Relu", (4, 300)), (4, 300)),
    "resize nearest x2 (native layout)": (
        after_conv(16, 9, [helper.make_node("Resize", ["c", "", "scales"], ["y"], mode="nearest")],
                   [numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")]), (1, 16, 9, 9)),
    "concat (native layout)": (after_conv(16, 10, [helper.make_node("Concat", ["c", "c"], ["y"], axis=1)]),
                               (1, 16, 10, 10)),
    "split (native layout)": (after_conv(32, 10, [helper.make_node("Split", ["c"], ["y", "rest"], axis=1)]),
                              (1, 32, 10, 10)),
    "add and mul (elementwise)": (
        after_conv(16, 10, [helper.make_node("Mul", ["c", "x"], ["m"]), helper.make_node("Add", ["m", "c"], ["y"])]),
        (1, 16, 10, 10)),
}


def input_for(case, shape, with_outlier=True):
    rng = np.random.default_rng(CASES.index(case))
    x = rng.standard_normal(shape)
    if not with_outlier:
        return x.astype(np.float32)
    if case == "huge 1e30":
        x *= 1e30
    elif case == "near FLT_MAX":
        x = rng.uniform(-1, 1, shape) * FLT_MAX * 0.9
    elif case == "subnormal":
        x *= 1e-39  # below FLT_MIN (1.2e-38)
    elif case.startswith("one pixel"):
        index = tuple(s // 2 for s in shape)
        if len(shape) == 4:
            x[0, :, shape[2] // 2, shape[3] // 2] = float(case.split()[-1])  # every channel of one pixel
        else:
            x[index] = float(case.split()[-1])
    return x.astype(np.float32)


CASES = ["huge 1e30", "near FLT_MAX", "subnormal", "one pixel 1e6", "one pixel 1e30"]


def run(onnx_model, x, backend, monkeypatch):
    monkeypatch.setenv("EDGEQUANT_WINOGRAD", "1")  # the "conv winograd" cases' small images on every CPU
    return Engine(onnx_model, backend=backend).run(x)[0]


def assert_agrees(fast, reference, tolerance):
    np.testing.assert_array_equal(np.isnan(fast), np.isnan(reference), err_msg="NaN positions differ")
    np.testing.assert_array_equal(np.isposinf(fast), np.isposinf(reference), err_msg="+Inf positions differ")
    np.testing.assert_array_equal(np.isneginf(fast), np.isneginf(reference), err_msg="-Inf positions differ")
    finite = np.isfinite(reference)
    if finite.any():
        scale = float(np.abs(reference[finite]).max())
        np.testing.assert_allclose(fast[finite], reference[finite], rtol=0, atol=tolerance * scale + SUBNORMAL_ATOL)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("kernel", list(KERNELS))
def test_fast_backend_agrees_with_the_reference(kernel, case, monkeypatch):
    onnx_model, shape = KERNELS[kernel]
    x = input_for(case, shape)
    reference = run(onnx_model, x, "reference", monkeypatch)
    fast = run(onnx_model, x, "onednn", monkeypatch)
    assert fast.shape == reference.shape
    assert_agrees(fast, reference, RTOL)
    if case.startswith("one pixel"):
        unaffected = reference == run(onnx_model, input_for(case, shape, with_outlier=False), "reference", monkeypatch)
        if unaffected.any():
            assert_agrees(fast[unaffected], reference[unaffected], RTOL)
