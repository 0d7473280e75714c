"""Entropy estimates and distortion measures against plain NumPy formulas."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from edgequant import entropy as E


def numpy_entropy(symbols):
    _, counts = np.unique(symbols, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


@pytest.mark.parametrize("levels", [1, 2, 3, 16, 1000, 1 << 16])
def test_equiprobable_symbols_have_log2_l_bits(levels):
    symbols = np.tile(np.arange(levels, dtype=np.int32) - levels // 2, 7)
    assert E.entropy(symbols) == pytest.approx(math.log2(levels), abs=1e-12)


@settings(max_examples=80, deadline=None)
@given(hnp.arrays(np.int64, st.integers(1, 500), elements=st.integers(-(2**31), 2**31 - 1)))
def test_entropy_matches_numpy(symbols):
    assert E.entropy(symbols) == pytest.approx(numpy_entropy(symbols), abs=1e-9)


def test_dense_and_sparse_counting_paths_agree():
    rng = np.random.default_rng(0)
    dense = rng.integers(-50, 50, 1_000_000).astype(np.int32)
    sparse = (rng.integers(0, 1000, 1_000_000) * 7919 * 31 - 2**30).astype(np.int32)  # span > 2^22
    for symbols in (dense, sparse):
        values, counts = E.symbol_counts(symbols)
        np_values, np_counts = np.unique(symbols, return_counts=True)
        np.testing.assert_array_equal(values, np_values)
        np.testing.assert_array_equal(counts, np_counts)
        assert E.entropy(symbols) == pytest.approx(numpy_entropy(symbols), abs=1e-9)


def test_float_entropy_counts_bit_patterns():
    w = np.random.default_rng(1).normal(0, 0.05, 200_000).astype(np.float32)
    assert E.float_entropy(w) == pytest.approx(numpy_entropy(w.view(np.int32)), abs=1e-9)
    assert 17 < E.float_entropy(w) <= math.log2(w.size)
    assert E.float_entropy(np.float32([0.0, -0.0])) == pytest.approx(1.0)  # distinct patterns


def test_compression_ratio_and_space_saving():
    assert E.compression_ratio(4.0) == 8.0 and E.space_saving(4.0) == 0.875
    assert E.compression_ratio(0.0) == math.inf
    with pytest.raises(ValueError, match="bits_per_weight"):
        E.compression_ratio(-1)


def test_distortion_against_numpy():
    rng = np.random.default_rng(2)
    r = rng.normal(size=10_001)
    a = (r + rng.normal(scale=0.01, size=r.size)).astype(np.float32)
    d = E.distortion(r, a)
    err = r - a.astype(np.float64)
    assert d["mse"] == pytest.approx(np.mean(err**2), rel=1e-12)
    assert d["sqnr_db"] == pytest.approx(10 * np.log10(np.sum(r**2) / np.sum(err**2)), rel=1e-12)
    assert d["max_abs_error"] == pytest.approx(np.max(np.abs(err)), rel=1e-12)
    assert E.sqnr_db(r, r) == math.inf


def test_bad_input():
    with pytest.raises(ValueError, match="symbols is empty"):
        E.entropy(np.zeros(0, np.int32))
    with pytest.raises(TypeError, match="symbols must be an integer array"):
        E.entropy(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="int32 range"):
        E.entropy(np.array([2**40]))
    with pytest.raises(ValueError, match="shape"):
        E.distortion(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="NaN/Inf"):
        E.distortion(np.float32([np.nan]), np.float32([0]))


@pytest.mark.parametrize("span", [1, 10, 1000, 2**20, 2**24, 2**31])
def test_small_tensors_with_wide_symbol_ranges(span):
    # the sparse (radix-sorted) counting path: few symbols spread over a huge range
    codes = np.clip(np.random.default_rng(span).standard_normal(5000) * span / 6, -(2**31), 2**31 - 1).astype(np.int32)
    assert E.entropy(codes) == pytest.approx(numpy_entropy(codes), rel=1e-12, abs=1e-15)
