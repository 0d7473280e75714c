"""A float conv's bias is added to the finished sum (backend/onednn/conv.cpp): oneDNN's direct
kernels in channel blocks (jit_1x1, jit_dw, jit direct: what networks of depthwise convs run) start
each accumulator at the bias, so every product is rounded at the bias's magnitude. Where the bias
outweighs the sum — a scale folded into the conv, a BN's large mean — that tripled the rounding error
of PP-OCR's DB detectors against a float64 evaluation. Held here against float64 on such a layer:
a depthwise conv (which puts the network in channel blocks) feeding a 1x1 conv whose bias is 300x
its products; with the bias as the accumulators' start the 1x1 output's error is 5.0e-7 of its
range, added last 3.4e-8. The outputs with a residual sum and an activation fused after the bias, and
with zero biases (no post-op), stay those of the float64 definition too."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgequant import Engine
from edgequant.engine import supported_backends

BACKENDS = [b for b in ("onednn", "reference") if b in supported_backends()]


def network(ic=48, oc=96, size=24, residual=False, seed=0, zero_bias=False):
    """x -> depthwise 3x3 (bias) -> 1x1 conv with a bias ~300x its products [-> + x' -> Relu]."""
    rng = np.random.default_rng(seed)
    dw = (rng.standard_normal((ic, 1, 3, 3)) * 0.3).astype(np.float32)
    dw_bias = (rng.standard_normal(ic) * 0.01).astype(np.float32)
    pw = (rng.standard_normal((oc, ic, 1, 1)) * 0.2).astype(np.float32)
    pw_bias = (rng.standard_normal(oc) * 3).astype(np.float32)
    if zero_bias:
        dw_bias, pw_bias = np.zeros_like(dw_bias), np.zeros_like(pw_bias)
    inits = [numpy_helper.from_array(a, n) for a, n in ((dw, "dw"), (dw_bias, "db"), (pw, "pw"), (pw_bias, "pb"))]
    nodes = [helper.make_node("Conv", ["x", "dw", "db"], ["t"], group=ic, pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["t", "pw", "pb"], ["c"])]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, ic, size, size])]
    out = "c"
    if residual:
        inputs.append(helper.make_tensor_value_info("r", TensorProto.FLOAT, [1, oc, size, size]))
        nodes += [helper.make_node("Add", ["c", "r"], ["s"]), helper.make_node("Relu", ["s"], ["y"])]
        out = "y"
    graph = helper.make_graph(nodes, "g", inputs, [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()
    return model, (dw, dw_bias, pw, pw_bias)


def float64_output(x, params, residual=None):
    dw, dw_bias, pw, pw_bias = (p.astype(np.float64) for p in params)
    x = x[0].astype(np.float64)
    size = x.shape[1]
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    t = sum(dw[:, 0, i, j, None, None] * padded[:, i:i + size, j:j + size] for i in range(3) for j in range(3))
    t += dw_bias[:, None, None]
    y = np.einsum("chw,oc->ohw", t, pw[:, :, 0, 0]) + pw_bias[:, None, None]
    if residual is not None:
        y = np.maximum(y + residual[0].astype(np.float64), 0)
    return y[None]


def relative_error(y, truth):
    return float(np.abs(y.astype(np.float64) - truth).max() / np.abs(truth).max())


@pytest.mark.parametrize("backend", BACKENDS)
def test_bias_outweighing_the_sum_is_added_last(backend):
    model, params = network()
    x = (np.random.default_rng(1).standard_normal((1, 48, 24, 24)) * 0.01).astype(np.float32)
    error = relative_error(Engine(model, threads=1, backend=backend).run([x])[0], float64_output(x, params))
    assert error < 2.5e-7, f"{backend}: {error:.2e} of the range from the float64 definition"


@pytest.mark.parametrize("backend", BACKENDS)
def test_bias_before_a_fused_residual_and_activation(backend):
    model, params = network(residual=True)
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((1, 48, 24, 24)) * 0.5).astype(np.float32)
    r = rng.standard_normal((1, 96, 24, 24)).astype(np.float32)
    y = Engine(model, threads=1, backend=backend).run([x, r])[0]
    truth = float64_output(x, params, r)
    assert relative_error(y, truth) < 1e-6
    assert np.array_equal(y == 0, truth == 0) or np.abs(y[(y == 0) != (truth == 0)]).max() < 1e-5


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_bias(backend):
    model, params = network(seed=3, zero_bias=True)
    x = np.random.default_rng(4).standard_normal((1, 48, 24, 24)).astype(np.float32)
    y = Engine(model, threads=1, backend=backend).run([x])[0]
    assert relative_error(y, float64_output(x, params)) < 1e-6
