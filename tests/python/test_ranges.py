"""edgequant.ranges: the streaming observer against NumPy formulas and the C++ scalar reference,
batched = whole, the xmax specs of the weight quantizers, and bad input."""

import numpy as np
import pytest

from edgequant.quantizers import QUANTIZERS
from edgequant.ranges import METHODS, RangeObserver, check_range_spec, fit_xmax, range_reference


def _observed(x, batches=4):
    observer = RangeObserver()
    for part in np.array_split(x, batches):
        observer.observe(part)
    return observer


@pytest.fixture
def heavy_tailed():
    return np.random.default_rng(3).standard_t(3, 50_000).astype(np.float32)


def test_minmax_and_percentile_match_numpy(heavy_tailed):
    observer = _observed(heavy_tailed)
    assert observer.range("minmax") == (float(heavy_tailed.min()), float(heavy_tailed.max()))
    lo, hi = observer.range("percentile", 99.0)
    assert lo == pytest.approx(np.percentile(heavy_tailed, 1.0), abs=observer.bin_width)
    assert hi == pytest.approx(np.percentile(heavy_tailed, 99.0), abs=observer.bin_width)
    _, t = observer.range("percentile", 99.0, symmetric=True)
    assert t == pytest.approx(np.percentile(np.abs(heavy_tailed), 99.0), abs=observer.bin_width)


@pytest.mark.parametrize("method", METHODS)
def test_streaming_is_near_the_reference(heavy_tailed, method):
    observer = _observed(heavy_tailed)
    streamed, reference = observer.range(method), range_reference(heavy_tailed, method)
    step = 16 * float(np.abs(heavy_tailed).max()) / 2048  # entropy's candidate spacing
    tolerance = {"minmax": 0.0, "percentile": observer.bin_width, "entropy": step, "mse": step}[method]
    assert streamed == pytest.approx(reference, abs=tolerance)


def test_batches_give_the_whole_array_result(heavy_tailed):
    whole = RangeObserver()
    whole.observe(heavy_tailed)
    batched = _observed(heavy_tailed * np.linspace(0.01, 1, heavy_tailed.size, dtype=np.float32), 1)
    batched_again = _observed(heavy_tailed * np.linspace(0.01, 1, heavy_tailed.size, dtype=np.float32), 7)
    for method in METHODS:
        assert batched.range(method) == batched_again.range(method)
    assert whole.count == heavy_tailed.size


def test_edge_cases():
    empty = RangeObserver()
    empty.observe(np.array([], np.float32))
    assert empty.range("mse") == (0.0, 0.0) and empty.count == 0
    zeros = _observed(np.zeros(100, np.float32))
    assert all(zeros.range(m) == (0.0, 0.0) for m in METHODS)
    negative = _observed(-np.arange(1, 1001, dtype=np.float64))
    assert negative.range("minmax") == (-1000.0, 0.0)
    assert negative.range("percentile", 100.0) == (-1000.0, 0.0)
    dirty = RangeObserver()
    dirty.observe(np.array([1.0, np.nan, np.inf, -np.inf, -2.0], np.float32))
    assert dirty.non_finite == 3 and dirty.count == 2 and dirty.range("minmax") == (-2.0, 1.0)
    no_histogram = RangeObserver(histogram=False)
    no_histogram.observe(np.ones(3))
    with pytest.raises(ValueError, match="histogram"):
        no_histogram.range("entropy")
    with pytest.raises(ValueError, match="method"):
        RangeObserver().range("kl")
    with pytest.raises(ValueError, match="percentile"):
        RangeObserver().range("percentile", 0.0)
    with pytest.raises(TypeError):
        RangeObserver().observe(np.arange(3))


def test_range_specs():
    assert check_range_spec("max") == "max" and check_range_spec("mse") == "mse"
    assert check_range_spec("percentile:99.990") == "percentile:99.99"
    assert check_range_spec("0.5") == 0.5 and check_range_spec(2) == 2.0
    for bad in ["min", "percentile:0", "percentile:101", "percentile:x", -1.0, 0, float("nan"), True, None]:
        with pytest.raises(ValueError, match="xmax"):
            check_range_spec(bad)


def test_fit_xmax(heavy_tailed):
    assert fit_xmax(heavy_tailed, "max") == float(np.abs(heavy_tailed).max())
    assert fit_xmax(heavy_tailed, "percentile:99.9") == pytest.approx(
        np.percentile(np.abs(heavy_tailed), 99.9), abs=_observed(heavy_tailed).bin_width)
    assert fit_xmax(np.zeros(10), "mse") == 1.0
    assert fit_xmax(np.r_[np.zeros(99), 3.0], "percentile:50") == 3.0  # a zero percentile falls back to max|x|
    with pytest.raises(ValueError, match="NaN"):
        fit_xmax(np.array([1.0, np.nan]), "mse")


@pytest.mark.parametrize("family", ["midtread", "midrise", "mulaw"])
def test_weight_quantizers_take_range_specs(family, heavy_tailed):
    errors = {}
    for spec in ["max", "percentile:99.9", "mse"]:
        quantizer = QUANTIZERS[family](15, xmax=spec)
        y = quantizer(heavy_tailed)
        assert quantizer.xmax == spec and quantizer.xmax_ == fit_xmax(heavy_tailed, spec, 15)
        assert np.array_equal(quantizer.decode(quantizer.encode(heavy_tailed)), y)
        errors[spec] = float(np.mean((y - heavy_tailed) ** 2))
    if family != "mulaw":  # on a uniform grid a heavy tail is best clipped (mu-law's grid handles it)
        assert errors["mse"] < errors["percentile:99.9"] < errors["max"]


def test_one_observer_shared_by_threads_counts_every_value():
    """observe() releases the GIL: concurrent calls on one observer must not lose or corrupt bins."""
    import threading

    from edgequant.ranges import RangeObserver

    observer = RangeObserver()
    rng = np.random.default_rng(3)
    chunks = [rng.standard_normal(50_000).astype(np.float32) * (1 + k) for k in range(16)]
    threads = [threading.Thread(target=lambda c=c: observer.observe(c)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = np.concatenate(chunks)
    assert observer.count == everything.size
    assert observer.range("minmax") == pytest.approx((float(everything.min()), float(everything.max())))
