"""Prune-then-quantize (paper 002) against the NumPy reference."""

import numpy as np
import pytest
import quantizer_reference as ref

from edgequant.quantizers import PruneQuantize


@pytest.mark.parametrize("gamma", [0.0, 0.125, 0.375, 0.625, 0.75, 5.0])
@pytest.mark.parametrize("bits", [2, 3, 4, 8, 16])
def test_matches_reference(gamma, bits):
    w = np.random.default_rng(3).laplace(0, 0.05, (64, 33)).astype(np.float32)
    quantizer = PruneQuantize(gamma, bits)
    symbols = quantizer.encode(w)
    expected, reconstruction, beta, step = ref.prune_quantize(w, gamma, bits)
    assert quantizer.threshold == pytest.approx(beta, rel=1e-12)
    assert quantizer.step == pytest.approx(step, rel=1e-12)
    np.testing.assert_array_equal(symbols, expected)
    np.testing.assert_array_equal(quantizer(w), reconstruction)
    assert quantizer.density == pytest.approx(np.count_nonzero(expected) / w.size)


def test_density_falls_with_gamma():
    w = np.random.default_rng(4).normal(0, 1, 100_000).astype(np.float32)
    densities = []
    for gamma in (0.0, 0.25, 0.5, 0.75):
        quantizer = PruneQuantize(gamma, 8)
        quantizer(w)
        densities.append(quantizer.density)
    assert densities == sorted(densities, reverse=True)
    # For a Gaussian, P(|w| >= 0.5 std) = 0.617
    assert densities[2] == pytest.approx(0.617, abs=0.01)


def test_everything_pruned_gives_zeros():
    w = np.float32([1.0, -1.0, 1.0, -1.0])  # std 1, beta = 5
    quantizer = PruneQuantize(5.0, 4)
    assert np.array_equal(quantizer(w), np.zeros(4, np.float32)) and quantizer.density == 0.0


def test_bad_parameters():
    with pytest.raises(ValueError, match="gamma"):
        PruneQuantize(-0.1, 8)
    with pytest.raises(ValueError, match="bits"):
        PruneQuantize(0.5, 1)
    with pytest.raises(TypeError, match="bits"):
        PruneQuantize(0.5, 4.5)


# -- the fit's statistics: one read of the weights (cpp/quant/prune_quantize.cpp) -----------------
from edgequant import _core  # noqa: E402

# sizes around the kernel's 2,048-element blocks and past 2 x 65,536 (split across threads)
SIZES = [0, 1, 2, 7, 2047, 2048, 2049, 4096 + 3, 3 * 65536 + 5]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", SIZES)
def test_fit_statistics_equal_numpy(n, dtype):
    w = np.random.default_rng(n).laplace(0.01, 0.05, n).astype(dtype)
    fit = _core.fit_prune_quantize(w, 0.5, 8)
    expected_std = float(np.std(w.astype(np.float64))) if n else 0.0
    assert fit.std == pytest.approx(expected_std, rel=1e-13, abs=0)
    assert fit.max_abs == (float(np.max(np.abs(w))) if n else 0.0)
    assert fit.non_finite == 0
    assert fit.threshold == pytest.approx(0.5 * expected_std, rel=1e-13, abs=0)


def test_fit_statistics_are_stable_for_offset_weights():
    """A one-pass sum of squares loses the variance of 1e4 + 1e-3·noise to cancellation (~1e-2
    relative); the blocked two-pass reduction keeps float64 accuracy."""
    w = 1e4 + np.random.default_rng(1).normal(0, 1e-3, 300_000)
    assert _core.fit_prune_quantize(w, 1.0, 8).std == pytest.approx(np.std(w), rel=1e-9)
    w32 = np.float32(-3.0) + np.random.default_rng(2).normal(0, 1e-4, 200_000).astype(np.float32)
    assert _core.fit_prune_quantize(w32, 1.0, 8).std == pytest.approx(np.std(w32.astype(np.float64)), rel=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fit_statistics_skip_and_count_non_finite(dtype):
    w = np.random.default_rng(5).normal(0, 1, 150_000).astype(dtype)
    w[[3, 2048, 70_000, 149_999]] = [np.nan, np.inf, -np.inf, np.nan]
    finite = w[np.isfinite(w)].astype(np.float64)
    fit = _core.fit_prune_quantize(w, 0.25, 4)
    assert fit.non_finite == 4
    assert fit.std == pytest.approx(np.std(finite), rel=1e-13)
    assert fit.max_abs == float(np.max(np.abs(finite)))
    everything_bad = np.full(10, np.nan, dtype)
    fit = _core.fit_prune_quantize(everything_bad, 0.25, 4)
    assert (fit.non_finite, fit.std, fit.max_abs) == (10, 0.0, 0.0)


def test_fit_statistics_do_not_depend_on_thread_timing():
    w = np.random.default_rng(6).normal(0, 1, 1_000_003).astype(np.float32)
    stds = {_core.fit_prune_quantize(w, 0.375, 8).std for _ in range(8)}
    assert len(stds) == 1  # parts merged in index order, not in finishing order
    _core.set_max_threads(1)
    try:
        single = _core.fit_prune_quantize(w, 0.375, 8).std
    finally:
        _core.set_max_threads(0)
    assert single == pytest.approx(stds.pop(), rel=1e-14)


def test_a_weight_exactly_at_the_threshold_is_kept():
    w = np.float32([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])  # std 1: beta = 1 = |w|
    quantizer = PruneQuantize(1.0, 4)
    assert np.array_equal(quantizer(w), w) and quantizer.density == 1.0


def test_non_contiguous_input_matches_its_copy():
    w = np.random.default_rng(7).laplace(0, 0.05, (300, 512)).astype(np.float32)
    view = w[:, ::2]
    assert not view.flags.c_contiguous
    np.testing.assert_array_equal(PruneQuantize(0.375, 8)(view), PruneQuantize(0.375, 8)(view.copy()))
    np.testing.assert_array_equal(PruneQuantize(0.375, 8)(view), ref.prune_quantize(view, 0.375, 8)[1])
