"""YOLOv5's Focus (b² strided slices of one tensor concatenated on channels) folded into one SpaceToDepth
(graph/space_to_depth_folding.h): both block orders, the slices written as rows-then-columns, columns-then-rows
or one Slice of both axes, b = 2 and 3, negative axes on a graph input, batches; each against ONNX Runtime on
every backend, with the plan showing the fold. The spellings that are not a SpaceToDepth stay as they are.
"""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from ort_reference import run_ort

from edgequant import Engine
from edgequant.engine import supported_backends

BIG = 9223372036854775807  # what torch.onnx writes for an open end


def _focus(blocks, b=2, shape=(1, 3, 8, 12), spelling="rows_then_columns", axes=(2, 3), concat_axis=1,
           extra_outputs=(), step=None):
    """Concat(axis) of x[:, :, i::b, j::b] for (i, j) in `blocks`, each slice written as `spelling`."""
    step = b if step is None else step
    inits, nodes, parts = [], [], []

    def constant(name, values):
        inits.append(numpy_helper.from_array(np.array(values, np.int64), name))
        return name

    for k, (i, j) in enumerate(blocks):
        out = f"part{k}"
        if spelling == "one_slice":
            names = [constant(f"{n}{k}", v) for n, v in
                     (("s", [i, j]), ("e", [BIG, BIG]), ("a", list(axes)), ("p", [step, step]))]
            nodes.append(helper.make_node("Slice", ["x", *names], [out]))
        else:
            rows, columns = (axes[0], i), (axes[1], j)
            first, second = (rows, columns) if spelling == "rows_then_columns" else (columns, rows)
            for n, (axis, start) in enumerate((first, second)):
                names = [constant(f"{c}{k}_{n}", [v]) for c, v in (("s", start), ("e", BIG), ("a", axis), ("p", step))]
                nodes.append(helper.make_node("Slice", ["x" if n == 0 else f"half{k}", *names],
                                              [f"half{k}" if n == 0 else out]))
        parts.append(out)
    nodes.append(helper.make_node("Concat", parts, ["y"], axis=concat_axis))
    outputs = [helper.make_tensor_value_info(v, TensorProto.FLOAT, None) for v in ["y", *extra_outputs]]
    graph = helper.make_graph(nodes, "focus", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
                              outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    x = np.random.default_rng(len(blocks) + b).standard_normal(shape).astype(np.float32)
    return model.SerializeToString(), {"x": x}


def _check(model, feeds, folded):
    expected = run_ort(model, feeds)
    for backend in supported_backends():
        engine = Engine(model, backend=backend)
        ops = [op for _, op, _ in engine.plan()]
        assert (ops == ["SpaceToDepth"]) == folded, (backend, ops)
        for got, want in zip(engine.run(feeds), expected, strict=True):
            np.testing.assert_array_equal(got, want, err_msg=backend)


ROWS_FIRST = [(0, 0), (0, 1), (1, 0), (1, 1)]
COLUMNS_FIRST = [(0, 0), (1, 0), (0, 1), (1, 1)]  # YOLOv5's Focus


@pytest.mark.parametrize("blocks", [ROWS_FIRST, COLUMNS_FIRST], ids=["dcr", "yolov5"])
@pytest.mark.parametrize("spelling", ["rows_then_columns", "columns_then_rows", "one_slice"])
def test_focus_folds_into_space_to_depth(blocks, spelling):
    _check(*_focus(blocks, spelling=spelling), folded=True)


def test_block_of_three_batches_and_wide_rows():
    blocks = [(i, j) for i in range(3) for j in range(3)]
    _check(*_focus(blocks, b=3, shape=(2, 2, 9, 300)), folded=True)
    _check(*_focus([(i, j) for j in range(3) for i in range(3)], b=3, shape=(1, 4, 6, 33)), folded=True)


def test_negative_axes_on_a_graph_input_of_known_rank():
    _check(*_focus(COLUMNS_FIRST, axes=(-2, -1), shape=(1, 3, 416, 416)), folded=True)


@pytest.mark.parametrize(
    "case",
    [
        {"blocks": [(0, 0), (1, 1), (0, 1), (1, 0)]},  # neither order: a permutation SpaceToDepth has not
        {"blocks": [(0, 0), (0, 1), (1, 0), (0, 0)]},  # a block twice, one missing
        {"blocks": ROWS_FIRST, "concat_axis": 0},
        {"blocks": ROWS_FIRST, "step": 3},  # every third row of a block of 2
        {"blocks": ROWS_FIRST, "extra_outputs": ["part1"]},  # a slice read elsewhere too
    ],
)
def test_what_is_not_a_space_to_depth_stays(case):
    _check(*_focus(**case), folded=False)


def test_the_folded_kernel_on_many_rows():
    """The float rows are gathered by a vectorised loop: odd widths and many rows, against ONNX Runtime."""
    _check(*_focus(COLUMNS_FIRST, shape=(3, 5, 34, 70)), folded=True)
    _check(*_focus(ROWS_FIRST, shape=(1, 1, 2, 2)), folded=True)
