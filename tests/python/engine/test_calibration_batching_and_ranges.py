"""Static calibration: fixed batch dimensions are batched to fit, and the entropy (KL) method is
bounded so that it cannot clip away a detector's rare strong activations."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgequant import Engine
from edgequant.datasets import model_data
from edgequant.engine.calibration import ENTROPY_MAX_CLIPPED
from edgequant.ranges import RangeObserver


def _fixed_batch_model(batch: int) -> bytes:
    w = numpy_helper.from_array(np.random.default_rng(0).normal(0, 1, (6, 3)).astype(np.float32), "w")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 6])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 3])
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "fixed", [x], [y], [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


@pytest.mark.parametrize("batch, samples", [(1, 7), (2, 5), (4, 3), (3, 9)])
def test_fixed_batch_models_calibrate_on_any_sample_count(batch, samples):
    x = np.random.default_rng(1).normal(0, 1, (samples, 6)).astype(np.float32)
    x[samples - 1, 0] = 50.0  # the last sample holds the maximum: it must be seen
    engine = Engine(_fixed_batch_model(batch), mode="static", calibration=x, keep_float_weights=True)
    assert engine.fixed_batch_size() == batch
    assert engine.ranges["x"] == pytest.approx((float(x.min()), 50.0))
    (y,) = engine.run(x[np.arange(batch) % samples])
    assert y.shape == (batch, 3)
    assert Engine(_fixed_batch_model(batch)).fixed_batch_size() == batch


def test_symbolic_batch_reports_none():
    model = onnx.load_from_string(_fixed_batch_model(1))
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "N"
    assert Engine(model).fixed_batch_size() is None


def test_shared_fixed_batch_model_calibrates_without_a_batch_size(shared_data):
    x, _ = model_data("mnist-8", limit=10)  # [1, 1, 28, 28] fixed
    engine = Engine(shared_data / "models" / "mnist-8.onnx", mode="static", calibration=x)
    assert engine.ranges and all(hi > lo for lo, hi in engine.ranges.values())


def test_entropy_bound_is_the_order_statistic():
    """A tail of 50 values in 200050 (2.5e-4) that the KL search clips: entropy keeps all but
    floor(1e-4 n) = 20 of them, so the 21st largest value bounds the threshold (within a bin)."""
    rng = np.random.default_rng(0)
    values = np.concatenate([np.abs(rng.normal(0, 1, 200_000)), rng.uniform(10, 100, 50)]).astype(np.float32)
    observer = RangeObserver()
    observer.observe(values)
    lo, hi = observer.range("entropy")
    twenty_first = np.sort(values)[-21]
    assert lo == 0.0 and np.count_nonzero(values > hi) <= 20
    assert twenty_first <= hi <= twenty_first + observer.bin_width


def test_entropy_never_clips_more_than_its_bound_on_a_detector(shared_data):
    """UltraFace's head activations on its own images: the unbounded KL search cut several ranges to
    25-35 % of the observed maximum and clipped up to 0.8 % of the values."""
    x, _ = model_data("ultraface-rfb-320")
    engine = Engine(shared_data / "models" / "ultraface-rfb-320.onnx", mode="static", calibration=x,
                    method="entropy", keep_float_weights=True)
    entropy_ranges = dict(engine.ranges)
    engine._native.set_mode("fp32")
    captured = [engine._native.run_capture([x[i:i + 1]])[1] for i in range(len(x))]
    worst = 0.0
    for name, (lo, hi) in entropy_ranges.items():
        values = np.concatenate([c[name].ravel() for c in captured])
        nonzero = values[values != 0]
        if nonzero.size == 0:
            continue
        clipped = np.count_nonzero((nonzero > hi) | (nonzero < lo))
        assert clipped <= int(nonzero.size * ENTROPY_MAX_CLIPPED), name
        worst = max(worst, clipped / nonzero.size)
    assert worst <= ENTROPY_MAX_CLIPPED


def test_entropy_still_clips_a_negligible_far_outlier():
    values = np.concatenate([np.abs(np.random.default_rng(0).normal(0, 1, 200_000)), [1000.0]]).astype(np.float32)
    observer = RangeObserver()
    observer.observe(values)
    lo, hi = observer.range("entropy")
    assert lo == 0.0 and 3.0 < hi <= 0.13 * 1000.0  # the KL search goes down to 255 of 2048 bins


def test_a_list_of_feeds_calibrates_a_model_with_an_unbatched_input():
    """A scalar input (a sample rate, a gain) has no axis to split samples along: calibration then
    takes one full feed per run, and its ranges are those of the runs."""
    weights = numpy_helper.from_array(np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32), "w")
    graph = helper.make_graph(
        [
            helper.make_node("Mul", ["x", "gain"], ["scaled"]),
            helper.make_node("Gemm", ["scaled", "w"], ["y"], transB=1),
        ],
        "gain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3]),
         helper.make_tensor_value_info("gain", TensorProto.FLOAT, [])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        [weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()
    feeds = [{"x": np.full((1, 3), v, np.float32), "gain": np.array(2.0, np.float32)} for v in (-1.0, 0.5, 3.0)]
    engine = Engine(model, mode="static", calibration=feeds)
    assert [p for _, op, p in engine.plan() if op == "Gemm"] == ["int8_static"]
    assert engine.ranges["scaled"] == pytest.approx((-2.0, 6.0))
    with pytest.raises(ValueError, match="list of feeds"):
        Engine(model, mode="static", calibration={"x": np.ones((3, 3), np.float32), "gain": np.array(2.0, np.float32)})
