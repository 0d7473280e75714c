"""One Engine shared by threads: every run gets the outputs a lone run gets (issue 9: 4 threads on
one Engine crashed with double frees or gave wrong outputs in a third of runs)."""

import threading

import numpy as np
import pytest

from edgequant import Engine, zoo
from edgequant.engine import supported_backends
from edgequant.zoo import architectures


def _hammer(engine, inputs, expected, threads=4, rounds=12):
    """Each thread runs every input ``rounds`` times in its own order; returns the mismatches."""
    errors = []

    def work(seed):
        order = np.random.default_rng(seed).permutation(np.repeat(np.arange(len(inputs)), rounds))
        for k in order:
            try:
                out = engine.run(inputs[k])
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(repr(error))
                return
            if not all(np.array_equal(a, b) for a, b in zip(out, expected[k], strict=True)):
                errors.append(f"thread {seed}: wrong outputs for input {k}")

    pool = [threading.Thread(target=work, args=(seed,)) for seed in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return errors


@pytest.mark.parametrize("mode", ["fp32", "static", "dynamic"])
def test_four_threads_on_one_engine_match_lone_runs(mode):
    x = zoo.load_test_set()[0]
    engine = Engine(zoo.model_path(), mode=mode, calibration=x[:64] if mode == "static" else None, threads=1)
    # Different batch sizes: each session rebuilds kernels for the shapes it meets.
    inputs = [x[:1], x[1:9], x[9:12], x[:32]]
    expected = [engine.run(v) for v in inputs]
    assert _hammer(engine, inputs, expected) == []
    assert engine.mode == mode


def test_threads_on_a_residual_network_static():
    model = architectures.build("resnet18", input_size=32, width=0.25)
    rng = np.random.default_rng(0)
    calibration = rng.standard_normal((4, 3, 32, 32)).astype(np.float32)
    engine = Engine(model, mode="static", calibration=calibration, threads=1)
    inputs = [rng.standard_normal((n, 3, 32, 32)).astype(np.float32) for n in (1, 2)]
    expected = [engine.run(v) for v in inputs]
    assert _hammer(engine, inputs, expected, rounds=4) == []


@pytest.mark.parametrize("backend", supported_backends())
def test_configuration_waits_for_runs(backend):
    """set_mode / set_threads while other threads run: no crash, every run is one of the modes'
    answers, and the configuration gets its turn (glibc's rwlock prefers readers: on the slower
    backends, overlapping runs starved set_mode forever)."""
    x = zoo.load_test_set()[0][:16]
    engine = Engine(zoo.model_path(), mode="dynamic", keep_float_weights=True, threads=1, backend=backend)
    answers = []  # per mode and thread count: oneDNN's AVX2 kernels split some sums by threads
    for mode in ("dynamic", "fp32"):
        engine._native.set_mode(mode)
        for threads in (1, 2):
            engine.set_threads(threads)
            answers.append(engine.run(x)[0])
    stop = threading.Event()
    bad = []

    def runner():
        while not stop.is_set():
            out = engine.run(x)[0]
            if not any(np.array_equal(out, a) for a in answers):
                bad.append("a run mixed two modes")

    def configure():
        for k in range(20):
            engine._native.set_mode(("dynamic", "fp32")[k % 2])
            engine.set_threads(1 + k % 2)

    pool = [threading.Thread(target=runner) for _ in range(3)]
    for t in pool:
        t.start()
    configurer = threading.Thread(target=configure)
    configurer.start()
    configurer.join(timeout=120)
    starved = configurer.is_alive()
    stop.set()  # the runners stop, so a starved configurer finishes too
    for t in [*pool, configurer]:
        t.join()
    assert not starved, "set_mode/set_threads waited over 120 s behind overlapping runs"
    assert bad == []
