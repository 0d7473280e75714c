"""Elementwise stretches between the pairs of a quantized model become one 256-entry lookup
(graph/code_tables.h): a SiLU written Sigmoid -> pair -> Mul, a HardSwish, a Relu. The lookup is exact:
outputs equal ONNX's float semantics of the file (ONNX Runtime without graph optimisation)."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from ort_reference import qdq_session
from qdq_pairs import qdq_pair, saved_model

from edgequant.engine import Engine, supported_backends

SHAPE = [1, 4, 9, 11]


def _silu_and_hardswish(path, dtype):
    """x -> pair -> SiLU (Sigmoid, pair, Mul) -> pair -> HardSwish -> pair -> Relu -> pair, each of its own grid."""
    zero = 128 if dtype == np.uint8 else 0
    nodes, inits = [], []
    for name, source, scale in [("xq", "x", 0.031), ("sq", "s", 1 / 255), ("mq", "m", 0.027), ("hq", "h", 0.023),
                                ("y", "r", 0.019)]:
        n, i = qdq_pair(name, source, scale, zero if name != "sq" else 0, dtype)
        nodes += n
        inits += i
    order = [nodes[0], nodes[1], helper.make_node("Sigmoid", ["xq"], ["s"]), nodes[2], nodes[3],
             helper.make_node("Mul", ["xq", "sq"], ["m"]), nodes[4], nodes[5],
             helper.make_node("HardSwish", ["mq"], ["h"]), nodes[6], nodes[7],
             helper.make_node("Relu", ["hq"], ["r"]), nodes[8], nodes[9]]
    graph = helper.make_graph(order, "tables", [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, SHAPE)], inits)
    return saved_model(graph, path, 14)


@pytest.mark.parametrize("backend", supported_backends())
@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
@pytest.mark.parametrize("mode", ["static", "fp32"])
def test_a_stretch_between_pairs_is_one_exact_lookup(tmp_path, backend, dtype, mode):
    path = _silu_and_hardswish(tmp_path / "m.onnx", dtype)
    engine = Engine(path, backend=backend, mode=mode, threads=1)
    ops = [op for _, op, _ in engine.plan()]
    assert ops.count("CodeTable") == 1 and "Sigmoid" not in ops and "Mul" not in ops, ops
    session = qdq_session(path)
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(SHAPE) * 3).astype(np.float32)
    x.flat[:8] = [0, -0.0155, 0.0155, 4.5e3, -4.5e3, 0.031 * 2.5, -0.031 * 0.5, 1e-30]  # ties, saturation
    expected = session.run(None, {"x": x})[0]
    np.testing.assert_array_equal(engine.run(x)[0], expected)


def test_a_stretch_with_a_second_reader_outside_stays(tmp_path):
    """The Sigmoid's pair is also a graph output: two values leave the stretch, no table."""
    path = _silu_and_hardswish(tmp_path / "m.onnx", np.uint8)
    model = onnx.load(str(path))
    model.graph.output.append(helper.make_tensor_value_info("sq", TensorProto.FLOAT, SHAPE))
    onnx.save(model, str(path))
    engine = Engine(str(path), threads=1)
    ops = [op for _, op, _ in engine.plan()]
    assert "Sigmoid" in ops
    x = np.random.default_rng(5).standard_normal(SHAPE).astype(np.float32)
    session = qdq_session(str(path))
    for ours, theirs in zip(engine.run(x), session.run(None, {"x": x}), strict=True):
        np.testing.assert_array_equal(ours, theirs)
