"""benchmarks/_runtime_worker.py: each runtime timed in a process of its own (bench_engine at 2 threads).
The workers answer with as many run times as asked, a worker that cannot load says why instead of
hanging the benchmark, and one that dies mid-run is reported."""

from __future__ import annotations

import importlib
import io

import numpy as np
import pytest

from edgequant import zoo
from edgequant.engine import engine_available

pytestmark = pytest.mark.skipif(not engine_available(), reason="edgequant built without the inference engine")


@pytest.fixture
def worker(monkeypatch):
    from test_experiment_on_a_pi import BENCHMARKS

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("_runtime_worker")


@pytest.fixture
def digits(tmp_path):
    images = zoo.load_test_set()[0][:4]
    feeds = tmp_path / "feeds.npz"
    calibration = tmp_path / "calibration.npz"
    np.savez(feeds, input=images[:1])
    np.savez(calibration, input=images)
    return zoo.model_path("digits_cnn"), feeds, calibration


@pytest.mark.parametrize("kind", ["ours-fp32", "ours-static", "ort"])
def test_a_worker_times_as_many_runs_as_asked(worker, digits, kind):
    if kind == "ort":
        pytest.importorskip("onnxruntime")
    model, feeds, calibration = digits
    process = worker.RuntimeProcess(kind, model, feeds, 1, calibration if kind == "ours-static" else None)
    try:
        for runs in (3, 1):
            times = process.time_block(runs)
            assert len(times) == runs and all(0 < t < 5 for t in times)
    finally:
        process.close()


def test_round_robin_blocks_give_each_runtime_its_median(worker, digits):
    model, feeds, _ = digits
    workers = {"a": worker.RuntimeProcess("ours-fp32", model, feeds, 1),
               "b": worker.RuntimeProcess("ours-dynamic", model, feeds, 1)}
    try:
        times = worker.blocked_process_ms(workers, runs=5, block=2, pause_s=0)
    finally:
        for process in workers.values():
            process.close()
    assert set(times) == {"a", "b"} and all(0 < ms < 5000 for ms in times.values())


def test_a_worker_that_cannot_load_says_why(worker, digits, tmp_path):
    _, feeds, _ = digits
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(RuntimeError, match="ours-fp32 worker failed: .+"):
        worker.RuntimeProcess("ours-fp32", broken, feeds, 1)
    with pytest.raises(ValueError, match="unknown runtime kind"):
        worker.RuntimeProcess("tensorrt", broken, feeds, 1)


def test_a_worker_that_dies_is_reported_not_waited_for(worker, digits):
    model, feeds, _ = digits
    process = worker.RuntimeProcess("ours-fp32", model, feeds, 1)
    process._process.kill()
    process._process.wait()
    with pytest.raises(RuntimeError, match="worker failed"):
        process.time_block(2)
    process.close()


def test_a_short_or_garbled_answer_is_an_error(worker, digits):
    model, feeds, _ = digits
    for answer in ("0.001\n", "Traceback (most recent call last):\n", ""):
        process = worker.RuntimeProcess("ours-fp32", model, feeds, 1)
        real = process._process.stdout
        process._process.stdout = io.StringIO(answer)  # what a worker dying mid-block leaves
        with pytest.raises(RuntimeError, match="worker failed"):
            process.time_block(2)
        real.close()
        process.close()
