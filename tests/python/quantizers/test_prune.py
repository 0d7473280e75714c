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
