"""Hypothesis fuzzing of the engine with issue 9's mutation classes: node output and input arity,
zero-sized dims, extreme integers, non-UTF-8 names, node order and op types. Every mutant builds
and runs (outputs equal on the reference and oneDNN backends where finite) or raises ValueError /
TypeError; never a crash. The C++ twin is tests/cpp/engine/test_engine_fuzz.cpp."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from edgequant import Engine

EXTREMES = [np.iinfo(np.int64).min, np.iinfo(np.int64).max, -1, 0, -2, 1 << 62, 1, 3]
OPS = ["Conv", "Relu", "Split", "Concat", "MaxPool", "Gemm", "MatMul", "Add", "Div", "BatchNormalization",
       "Reshape", "Dropout", "Shape", "Gather", "Slice", "Transpose", "Softmax", "Pad", "Sigmoid", "Flatten"]


def _seed():
    """(nodes as [op, inputs, outputs, attrs], initializers name -> array): the C++ seed's graph."""
    rng = np.random.default_rng(0)
    inits = {"W": rng.standard_normal((4, 2, 3, 3)), "B": rng.standard_normal(4), "g": np.ones(4), "b": np.zeros(4),
             "m": np.zeros(4), "v": np.ones(4), "sp": np.array([2, 2], np.int64), "k": np.array([2.0]),
             "shape": np.array([0, -1], np.int64), "Wg": rng.standard_normal((3, 16)), "Bg": np.zeros(3),
             "two": np.array([2], np.int64)}
    inits = {k: v if v.dtype == np.int64 else v.astype(np.float32) for k, v in inits.items()}
    nodes = [["Conv", ["x", "W", "B"], ["c"], {"pads": [1, 1, 1, 1], "group": 1}],
             ["BatchNormalization", ["c", "g", "b", "m", "v"], ["bn"], {}],
             ["Relu", ["bn"], ["r"], {}],
             ["Split", ["r", "sp"], ["s1", "s2"], {"axis": 1}],
             ["Add", ["s1", "s2"], ["a"], {}],
             ["Div", ["a", "k"], ["d"], {}],
             ["Concat", ["d", "s2"], ["cc"], {"axis": 1}],
             ["MaxPool", ["cc"], ["p"], {"kernel_shape": [2, 2], "strides": [2, 2]}],
             ["Reshape", ["p", "shape"], ["f"], {}],
             ["Gemm", ["f", "Wg", "Bg"], ["gm"], {"transB": 1}],
             ["Dropout", ["gm"], ["y"], {}],
             ["Shape", ["x"], ["sh"], {}],
             ["Div", ["sh", "two"], ["half"], {}]]
    return nodes, inits


mutation = st.tuples(st.sampled_from(["outputs", "inputs", "zero_dim", "extreme", "utf8", "order", "op"]),
                     st.integers(0, 1 << 16), st.integers(0, 1 << 16))


def _build(mutations, input_dims):
    nodes, inits = _seed()
    graph_outputs = [("y", TensorProto.FLOAT), ("half", TensorProto.INT64)]
    bad_names = {}
    for kind, a, b in mutations:
        node = nodes[a % len(nodes)]
        if kind == "outputs":
            node[2] = node[2] + [f"extra{b % 7}"]
            if b % 2:
                graph_outputs.append((f"extra{b % 7}", TensorProto.FLOAT))
            else:
                nodes.append(["Relu", [f"extra{b % 7}"], [f"read{b}"], {}])
                graph_outputs.append((f"read{b}", TensorProto.FLOAT))
        elif kind == "inputs":
            if node[1] and b % 2:
                node[1] = node[1][:-1] if b % 4 == 1 else node[1][1:]
            else:
                node[1] = node[1] + [["", "x", "k", "sp"][b % 4]]
        elif kind == "zero_dim":
            if b % 2:
                input_dims[b % 4] = 0
            else:
                name = sorted(inits)[b % len(inits)]
                shape = list(inits[name].shape) or [1]
                shape[b % len(shape)] = 0
                inits[name] = np.zeros(shape, inits[name].dtype)
        elif kind == "extreme":
            value = EXTREMES[b % len(EXTREMES)]
            ints = [n for n in ("sp", "shape", "two") if inits[n].size]
            if node[3] and b % 2:
                key = sorted(node[3])[b % len(node[3])]
                current = node[3][key]
                node[3][key] = value if isinstance(current, int) else [value] + list(current)[1:]
            elif ints:
                name = ints[b % len(ints)]
                array = inits[name].copy()
                array.flat[b % array.size] = value
                inits[name] = array
        elif kind == "utf8":
            node[2] = [f"U{b % 10:07d}" if k == 0 else o for k, o in enumerate(node[2])]
            bad_names[f"U{b % 10:07d}".encode()] = b"\xff\xfe" + f"{b % 10:06d}".encode()
        elif kind == "order":
            order = np.random.default_rng(b).permutation(len(nodes))
            nodes = [nodes[k] for k in order]
        else:
            node[0] = OPS[b % len(OPS)]
    graph = helper.make_graph(
        [helper.make_node(op, ins, outs, name=f"n{k}", **attrs) for k, (op, ins, outs, attrs) in enumerate(nodes)],
        "fuzz", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [-1 if d == 2 else d for d in input_dims])],
        [helper.make_tensor_value_info(name, dtype, None) for name, dtype in graph_outputs],
        initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()])
    data = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
    for good, bad in bad_names.items():
        data = data.replace(good, bad)
    return data


def _finite(arrays):
    return all(a.dtype.kind != "f" or np.isfinite(a).all() for a in arrays)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations=st.lists(mutation, min_size=1, max_size=3))
def test_fuzz_structured_mutations(mutations):
    input_dims = [2, 2, 4, 4]
    data = _build(mutations, input_dims)
    try:
        engine = Engine(data, backend="reference")
        x = np.random.default_rng(1).standard_normal([d if d >= 0 else 2 for d in input_dims]).astype(np.float32)
        reference = engine.run(x)
        fast = Engine(data).run(x)
    except (ValueError, TypeError):
        return
    assert [a.shape for a in fast] == [a.shape for a in reference]
    if _finite(reference) and _finite(fast):
        for a, b in zip(fast, reference, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)


def test_seed_runs():
    (y, half) = Engine(_build([], [2, 2, 4, 4])).run(np.ones((2, 2, 4, 4), np.float32))
    assert y.shape == (2, 3)
    np.testing.assert_array_equal(half, [1, 1, 2, 2])
