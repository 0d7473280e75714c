"""Winograd F(4x4, 3x3) convolutions of the oneDNN backend (backend/winograd_f43.h): float32 3x3
stride-1 convs with at least 32 input and output channels and a 20x20 output (or 128 input channels; on
CPUs with AMX 64 channels and a 40x40 output) run by transforms and one batched matmul per round of tile
blocks; the tests take it past those thresholds (EDGEQUANT_WINOGRAD=1) to reach small images. Held against
the reference backend's direct loops over the geometries where tiling goes wrong (partial tiles at the right
and bottom edges, pads 0 to 2, channel counts that are not a multiple of the 16-lane step, batches, every
fused activation, a fused residual sum, several threads), and shown to run: its results differ from
oneDNN's direct conv (EDGEQUANT_WINOGRAD=0) by rounding only, while convs outside the default rule come out
bit-identical either way. Inputs whose range makes Winograd inexact (an outlier, values near FLT_MAX, NaN
or Inf, only subnormals) run the direct conv instead: its outputs are EDGEQUANT_WINOGRAD=0's (up to weights
restored from the transformed ones)."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgequant import Engine
from edgequant.engine import supported_backends

pytestmark = pytest.mark.skipif("onednn" not in supported_backends(), reason="the oneDNN backend is not built")


def conv_model(ic, oc, h, w, pads=(1, 1, 1, 1), activation=None, batch=1, kernel=3, stride=1, seed=0, bias=True):
    rng = np.random.default_rng(seed)
    weights = (rng.standard_normal((oc, ic, kernel, kernel)) / np.sqrt(ic * kernel * kernel)).astype(np.float32)
    bias = rng.standard_normal(oc).astype(np.float32) * np.float32(bias)
    inits = [numpy_helper.from_array(weights, "W"), numpy_helper.from_array(bias, "B")]
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c"], kernel_shape=[kernel, kernel], pads=list(pads),
                              strides=[stride, stride])]
    out = "c"
    if activation == "relu":
        nodes.append(helper.make_node("Relu", ["c"], ["y"]))
        out = "y"
    elif activation == "clip":
        inits += [numpy_helper.from_array(np.float32(-0.5), "lo"), numpy_helper.from_array(np.float32(0.7), "hi")]
        nodes.append(helper.make_node("Clip", ["c", "lo", "hi"], ["y"]))
        out = "y"
    elif activation == "silu":
        nodes += [helper.make_node("Sigmoid", ["c"], ["s"]), helper.make_node("Mul", ["c", "s"], ["y"])]
        out = "y"
    graph = helper.make_graph(nodes, "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, ic, h, w])],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


def run(model, x, monkeypatch, winograd=True, backend="onednn", threads=1):
    """winograd: True runs it wherever the shape allows (EDGEQUANT_WINOGRAD=1, past the size thresholds,
    which are stricter on CPUs with AMX), "rule" as the engine chooses by default, False never."""
    # The switch is read when a kernel is built (the first run of an engine).
    if winograd == "rule":
        monkeypatch.delenv("EDGEQUANT_WINOGRAD", raising=False)
    else:
        monkeypatch.setenv("EDGEQUANT_WINOGRAD", "1" if winograd else "0")
    return Engine(model, threads=threads, backend=backend).run(x)[0]


GEOMETRIES = [  # ic, oc, h, w, pads, batch
    (32, 32, 20, 20, (1, 1, 1, 1), 1),
    (64, 48, 21, 23, (1, 1, 1, 1), 1),  # partial tiles on both edges
    (40, 33, 22, 25, (0, 0, 0, 0), 1),  # channels not a multiple of 16; valid conv
    (35, 64, 20, 20, (2, 2, 2, 2), 2),  # pads of 2, a batch of 2
    (48, 40, 20, 22, (1, 0, 2, 1), 1),  # asymmetric pads
    (128, 80, 9, 11, (1, 1, 1, 1), 1),  # a small image: Winograd from 128 input channels
]


@pytest.mark.parametrize("ic, oc, h, w, pads, batch", GEOMETRIES)
@pytest.mark.parametrize("activation", [None, "relu", "clip", "silu"])
def test_winograd_matches_the_direct_reference(ic, oc, h, w, pads, batch, activation, monkeypatch):
    model = conv_model(ic, oc, h, w, pads, activation, batch)
    x = np.random.default_rng(1).standard_normal((batch, ic, h, w)).astype(np.float32)
    reference = run(model, x, monkeypatch, backend="reference")
    winograd = run(model, x, monkeypatch)
    direct = run(model, x, monkeypatch, winograd=False)
    assert winograd.shape == reference.shape
    # Rounding scales with the conv's own outputs, before a clip narrows them.
    scale = float(np.abs(run(conv_model(ic, oc, h, w, pads, None, batch), x, monkeypatch, backend="reference")).max())
    np.testing.assert_allclose(winograd, reference, rtol=0, atol=2e-5 * scale)
    np.testing.assert_allclose(direct, reference, rtol=0, atol=2e-5 * scale)
    # Winograd ran: another order of operations than oneDNN's direct conv
    assert not np.array_equal(winograd, direct)


@pytest.mark.parametrize("ic, oc, kernel, stride, size",
                         [(16, 64, 3, 1, 24), (64, 16, 3, 1, 24), (64, 64, 3, 2, 48), (64, 64, 1, 1, 24),
                          (64, 64, 3, 1, 16)])  # the last: under 20x20 with fewer than 128 input channels
def test_convs_outside_the_rule_stay_direct(ic, oc, kernel, stride, size, monkeypatch):
    model = conv_model(ic, oc, size, size, (kernel // 2,) * 4, "silu", kernel=kernel, stride=stride)
    x = np.random.default_rng(2).standard_normal((1, ic, size, size)).astype(np.float32)
    default = run(model, x, monkeypatch, winograd="rule")
    np.testing.assert_array_equal(default, run(model, x, monkeypatch, winograd=False))


def residual_model(channels, size, after_sum, native_residual):
    """x + SiLU(conv(SiLU(conv(x)))) (YOLOv8's bottleneck), or ReLU(conv(ReLU(conv(x))) + x) (ResNet's block):
    the second conv carries the Add as a fused sum, the ReLU after it as the activation after the sum. With
    `native_residual`, x is a 1x1 conv's output (in the backend's layout, free after the block: the sum
    accumulates in its buffer), else the graph input (copied)."""
    rng = np.random.default_rng(5)
    inits = []
    pre = []
    if native_residual:
        w = rng.standard_normal((channels, channels, 1, 1)) / np.sqrt(channels)
        inits.append(numpy_helper.from_array(w.astype(np.float32), "W0"))
        pre = [helper.make_node("Conv", ["input", "W0"], ["x"], kernel_shape=[1, 1])]
    for k in (1, 2):
        w = rng.standard_normal((channels, channels, 3, 3)) / np.sqrt(9 * channels)
        inits += [numpy_helper.from_array(w.astype(np.float32), f"W{k}"),
                  numpy_helper.from_array(rng.standard_normal(channels).astype(np.float32), f"B{k}")]
    act = "Relu" if after_sum else None
    nodes = pre + [helper.make_node("Conv", ["x", "W1", "B1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])]
    if after_sum:
        nodes += [helper.make_node(act, ["c1"], ["a1"]),
                  helper.make_node("Conv", ["a1", "W2", "B2"], ["c2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
                  helper.make_node("Add", ["c2", "x"], ["s"]), helper.make_node(act, ["s"], ["y"])]
    else:
        nodes += [helper.make_node("Sigmoid", ["c1"], ["g1"]), helper.make_node("Mul", ["c1", "g1"], ["a1"]),
                  helper.make_node("Conv", ["a1", "W2", "B2"], ["c2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
                  helper.make_node("Sigmoid", ["c2"], ["g2"]), helper.make_node("Mul", ["c2", "g2"], ["a2"]),
                  helper.make_node("Add", ["x", "a2"], ["y"])]
    shape = [1, channels, size, size]
    graph = helper.make_graph(nodes, "block", [helper.make_tensor_value_info(pre[0].input[0] if pre else "x",
                                                                               TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


@pytest.mark.parametrize("native_residual", [False, True])
@pytest.mark.parametrize("after_sum", [False, True])
@pytest.mark.parametrize("channels, size", [(32, 20), (64, 21), (40, 22)])
def test_fused_residual_sum(channels, size, after_sum, native_residual, monkeypatch):
    model = residual_model(channels, size, after_sum, native_residual)
    x = np.random.default_rng(6).standard_normal((1, channels, size, size)).astype(np.float32)
    engine = Engine(model, backend="onednn")
    convs = 3 if native_residual else 2
    assert [op for name, op, precision in engine.plan()] == ["Conv"] * convs  # the Add (and ReLU) fused
    reference = run(model, x, monkeypatch, backend="reference")
    winograd = run(model, x, monkeypatch)
    np.testing.assert_allclose(winograd, reference, rtol=0, atol=4e-5 * float(np.abs(reference).max()))
    assert not np.array_equal(winograd, run(model, x, monkeypatch, winograd=False))


@pytest.mark.parametrize("threads", [2, 3])
def test_threads_share_the_tiles(threads, monkeypatch):
    # Rounds of one block of 32 tiles per thread (V's rows split between them), a last partial round,
    # a batch of 2: 2 x 13 x 12 tiles. (A matmul run inside the threads' parallel region gave wrong outputs.)
    model = conv_model(64, 64, 52, 48, activation="silu", batch=2)
    x = np.random.default_rng(7).standard_normal((2, 64, 52, 48)).astype(np.float32)
    reference = run(model, x, monkeypatch, backend="reference")
    threaded = run(model, x, monkeypatch, threads=threads)
    np.testing.assert_allclose(threaded, reference, rtol=0, atol=2e-5 * float(np.abs(reference).max()))
    # the same tiles whatever the split; oneDNN's AVX2 GEMM (no AVX-512) orders some sums by thread count
    np.testing.assert_allclose(threaded, run(model, x, monkeypatch, threads=1), rtol=0,
                               atol=1e-5 * float(np.abs(reference).max()))


def test_large_values_and_constant_images(monkeypatch):
    # Values near 1e4 (the transforms scale by up to 100) and a constant image (every tile alike).
    model = conv_model(64, 64, 24, 24, activation="silu")
    for x in (np.full((1, 64, 24, 24), 3.0, np.float32),
              (np.random.default_rng(3).standard_normal((1, 64, 24, 24)) * 1e4).astype(np.float32)):
        reference = run(model, x, monkeypatch, backend="reference")
        np.testing.assert_allclose(run(model, x, monkeypatch), reference, rtol=0,
                                   atol=2e-5 * float(np.abs(reference).max()))


# --- inputs whose range makes Winograd inexact: the direct conv runs ---------------------------------------------


def assert_like_direct(got, direct):
    """The direct conv ran: EDGEQUANT_WINOGRAD=0's results, up to the weights it was built with (restored
    from Winograd's transformed ones, within an ulp of each filter's largest weight)."""
    finite = np.isfinite(direct)
    np.testing.assert_array_equal(np.isfinite(got), finite)
    scale = float(np.abs(direct[finite]).max())
    np.testing.assert_allclose(got[finite], direct[finite], rtol=1e-5, atol=1e-6 * scale + 8 * 2.0 ** -149)


def far_from(h, w, row, col):
    """The output pixels of a 3x3 conv with pads 1 that do not read input pixel (row, col)."""
    far = np.ones((h, w), bool)
    far[max(row - 1, 0):row + 2, max(col - 1, 0):col + 2] = False
    return far


@pytest.mark.parametrize("outlier", [1e6, 1e30])
@pytest.mark.parametrize("threads, batch, h, w", [(1, 1, 24, 24), (2, 2, 52, 48)])
def test_an_outlier_stays_local(outlier, threads, batch, h, w, monkeypatch):
    # One activation of 1e6 among values ~1 put an error of 0.1 on every output of its tile (outputs ~1),
    # the direct conv's 4e-6. Threaded: the outlier is the last value, in the second thread's share of
    # the range check.
    model = conv_model(64, 64, h, w, activation="silu", batch=batch)
    x = np.random.default_rng(8).standard_normal((batch, 64, h, w)).astype(np.float32)
    row, col = h - 3, w - 2
    x[-1, -1, row, col] = outlier
    reference = run(model, x, monkeypatch, backend="reference")
    winograd = run(model, x, monkeypatch, threads=threads)
    far = far_from(h, w, row, col)
    scale = float(np.abs(reference[-1][:, far]).max())
    np.testing.assert_allclose(winograd[-1][:, far], reference[-1][:, far], rtol=0, atol=2e-5 * scale)
    np.testing.assert_allclose(winograd, reference, rtol=1e-5, atol=2e-5 * scale)
    assert_like_direct(winograd, run(model, x, monkeypatch, winograd=False, threads=threads))


def test_moderate_outliers_keep_winograd(monkeypatch):
    # 50 times the mean |x| (real activations stay within ~25): still Winograd, and accurate.
    model = conv_model(64, 64, 24, 24)
    x = np.random.default_rng(9).standard_normal((1, 64, 24, 24)).astype(np.float32)
    x[0, 3, 7, 7] = 40
    reference = run(model, x, monkeypatch, backend="reference")
    winograd = run(model, x, monkeypatch)
    np.testing.assert_allclose(winograd, reference, rtol=0, atol=2e-5 * float(np.abs(reference).max()))
    assert not np.array_equal(winograd, run(model, x, monkeypatch, winograd=False))


@pytest.mark.parametrize("case", ["all 1e37", "one 3e38", "all 1e30"])
def test_huge_inputs_stay_finite(case, monkeypatch):
    # The transforms scale by up to 100 and 361: 1e37 overflowed to Inf and came back all NaN, one 3e38
    # gave NaN on its tiles. The direct conv and the reference stay finite.
    model = conv_model(64, 64, 24, 24, activation="relu")
    x = np.random.default_rng(10).standard_normal((1, 64, 24, 24)).astype(np.float32)
    if case == "one 3e38":
        x[0, 9, 12, 5] = 3e38
    else:
        x *= np.float32(case.split()[1])
    reference = run(model, x, monkeypatch, backend="reference")
    winograd = run(model, x, monkeypatch)
    assert np.isfinite(reference).all()
    assert np.isfinite(winograd).all()
    np.testing.assert_allclose(winograd, reference, rtol=0, atol=2e-5 * float(np.abs(reference).max()))
    direct = run(model, x, monkeypatch, winograd=False)
    if case == "all 1e30":  # far from overflow in the transforms: Winograd still runs, as exact as on values ~1
        assert not np.array_equal(winograd, direct)
    else:
        assert_like_direct(winograd, direct)


def non_finite_model(value, ic, oc, h, w, row, col):
    """conv(x * s * t): the engine refuses non-finite inputs, so the graph makes one. s is 1 but 1e30 at
    (channel 4, row, col), where x holds 1e10 (-1e10 for -Inf): an Inf; t is 1 but 0 there for NaN."""
    scale = np.ones((1, ic, h, w), np.float32)
    scale[0, 4, row, col] = 1e30
    zero = np.ones((1, ic, h, w), np.float32)
    zero[0, 4, row, col] = 0 if np.isnan(value) else 1
    rng = np.random.default_rng(14)
    weights = (rng.standard_normal((oc, ic, 3, 3)) / np.sqrt(9 * ic)).astype(np.float32)
    inits = [numpy_helper.from_array(a, n) for a, n in ((scale, "s"), (zero, "t"), (weights, "W"))]
    nodes = [helper.make_node("Mul", ["x", "s"], ["a"]), helper.make_node("Mul", ["a", "t"], ["b"]),
             helper.make_node("Conv", ["b", "W"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])]
    shape = [1, ic, h, w]
    graph = helper.make_graph(nodes, "non_finite", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_inputs_stay_local(value, monkeypatch):
    # The transforms spread a NaN or Inf over all of its tiles' outputs (Inf - Inf: NaN); the direct conv
    # only over the outputs that read it.
    row, col = 9, 13
    model = non_finite_model(value, 48, 40, 22, 21, row, col)
    x = np.random.default_rng(11).standard_normal((1, 48, 22, 21)).astype(np.float32)
    x[0, 4, row, col] = -1e10 if value == -np.inf else 1e10
    reference = run(model, x, monkeypatch, backend="reference")
    winograd = run(model, x, monkeypatch)
    assert not np.isfinite(reference).all()
    np.testing.assert_array_equal(np.isnan(winograd), np.isnan(reference))
    np.testing.assert_array_equal(np.isinf(winograd), np.isinf(reference))
    assert np.isfinite(winograd[0][:, far_from(22, 21, row, col)]).all()
    finite = np.isfinite(reference)
    np.testing.assert_allclose(winograd[finite], reference[finite], rtol=0,
                               atol=2e-5 * float(np.abs(reference[finite]).max()))


@pytest.mark.parametrize("scale, tolerance", [(1e-39, 1e-4), (1e-42, 5e-2)])
def test_subnormal_inputs(scale, tolerance, monkeypatch):
    # Without a bias the outputs are as small as the inputs: products of the transformed input and
    # weights underflow into subnormals (Winograd erred by 4e-4 and 0.4 of the output range, the
    # direct conv by 1e-5 and 1e-2).
    model = conv_model(64, 64, 24, 24, bias=False)
    x = (np.random.default_rng(12).standard_normal((1, 64, 24, 24)) * scale).astype(np.float32)
    reference = run(model, x, monkeypatch, backend="reference")
    winograd = run(model, x, monkeypatch)
    direct = run(model, x, monkeypatch, winograd=False)
    assert_like_direct(winograd, direct)
    np.testing.assert_allclose(winograd, reference, rtol=0, atol=tolerance * float(np.abs(reference).max()))


def test_an_outlier_under_a_fused_residual_sum(monkeypatch):
    # The direct conv takes over with the residual accumulated in place (the 1x1 conv's output, free).
    model = residual_model(64, 21, after_sum=True, native_residual=True)
    x = np.random.default_rng(13).standard_normal((1, 64, 21, 21)).astype(np.float32)
    x[0, :, 10, 10] = 1e7
    reference = run(model, x, monkeypatch, backend="reference")
    winograd = run(model, x, monkeypatch)
    assert_like_direct(winograd, run(model, x, monkeypatch, winograd=False))
    far = np.ones((21, 21), bool)
    far[8:13, 8:13] = False  # two 3x3 convs: the outputs within 2 pixels read the outlier
    scale = float(np.abs(reference[0][:, far]).max())
    np.testing.assert_allclose(winograd[0][:, far], reference[0][:, far], rtol=0, atol=2e-5 * scale)
