"""Midtread, midrise, dead-zone and μ-law against the NumPy references written from SPEC §1."""

import numpy as np
import pytest
import quantizer_reference as ref
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import edgequant
from edgequant.quantizers import Deadzone, Midrise, Midtread, MuLaw

DTYPES = [np.float32, np.float64]


def laplacian(n, dtype, scale=0.1, seed=0):
    return np.random.default_rng(seed).laplace(0, scale, n).astype(dtype)


def edge_values(step, dtype):
    """Grid points, midpoints (ties), zeros of both signs, range ends, far outside."""
    k = np.arange(-70, 71, dtype=np.float64)
    values = np.concatenate([k * step, (k + 0.5) * step, [0.0, -0.0, 1.0, -1.0, 1e30, -1e30, 5e-324]])
    return values.astype(dtype)


CASES = [
    (lambda L: Midtread(L), ref.midtread_encode, ref.midtread_decode, {}),
    (lambda L: Midrise(L), ref.midrise_encode, ref.midrise_decode, {}),
    (lambda L: Deadzone(L, 0.7), ref.deadzone_encode, ref.deadzone_decode, {"delta": 0.7}),
    (lambda L: Deadzone(L, 0.1), ref.deadzone_encode, ref.deadzone_decode, {"delta": 0.1}),
    (lambda L: MuLaw(L), ref.mulaw_encode, ref.mulaw_decode, {}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("levels", [2, 4, 16, 256, 4096, 1 << 24])
@pytest.mark.parametrize("make, encode_ref, decode_ref, extra", CASES)
def test_matches_reference_bit_for_bit(make, encode_ref, decode_ref, extra, levels, dtype):
    quantizer = make(levels)
    x = np.concatenate([laplacian(20_001, dtype), edge_values(2.0 / levels, dtype)])
    symbols = quantizer.encode(x)
    expected = encode_ref(x, levels, **extra)
    mismatch = np.flatnonzero(symbols != expected)
    assert mismatch.size == 0, f"first mismatch at {mismatch[:5]}: x={x[mismatch[:5]]!r}"
    np.testing.assert_array_equal(quantizer.decode(symbols), decode_ref(expected, levels, **extra))
    np.testing.assert_array_equal(quantizer(x), quantizer.decode(symbols))


@pytest.mark.parametrize("make, encode_ref, decode_ref, extra", CASES)
def test_reference_kernels_agree_with_fast_kernels(make, encode_ref, decode_ref, extra):
    quantizer = make(512)
    x = laplacian(300_001, np.float32)  # several chunks on each core, odd tail
    fast = quantizer.encode(x)
    with edgequant.use_reference_kernels():
        slow = quantizer.encode(x)
    np.testing.assert_array_equal(fast, slow)


def test_hand_computed_cases():
    # L = 4 over [-1, 1]: step 0.5
    x = np.array([0.0, 0.2, 0.26, 0.75, -0.75, 1.0, 3.0, -3.0], dtype=np.float32)
    np.testing.assert_array_equal(Midtread(4).encode(x), [0, 0, 1, 2, -2, 2, 2, -2])  # 0.75/0.5 = 1.5 -> 2 (even)
    np.testing.assert_array_equal(Midrise(4).encode(x), [1, 1, 1, 2, -2, 2, 2, -2])
    np.testing.assert_allclose(Midrise(4)(x), [0.25, 0.25, 0.25, 0.75, -0.75, 0.75, 0.75, -0.75])
    # dead zone δ = 0.4, step 0.5: |x| < 0.2 -> 0; 0.26 -> ceil(0.52 - 0.4) = 1 -> 0.5 (1 + 0.4 - 0.5) = 0.45
    dz = Deadzone(4, 0.4)
    np.testing.assert_array_equal(dz.encode(np.float32([0.19, 0.26, -0.26])), [0, 1, -1])
    np.testing.assert_allclose(dz(np.float32([0.19, 0.26, -0.26])), [0.0, 0.45, -0.45], rtol=1e-6)


def test_deadzone_half_is_midtread_and_zero_is_midrise():
    x = laplacian(200_000, np.float64, scale=0.3)
    for levels in (8, 256, 65536):
        np.testing.assert_array_equal(Deadzone(levels, 0.5).encode(x), Midtread(levels).encode(x))
        np.testing.assert_array_equal(Deadzone(levels, 0.5)(x), Midtread(levels)(x))
        np.testing.assert_array_equal(Deadzone(levels, 0.0).encode(x), Midrise(levels).encode(x))
        np.testing.assert_array_equal(Deadzone(levels, 0.0)(x), Midrise(levels)(x))


def test_documented_exceptions_to_the_equivalences():
    # A tie |x|/Δ = 1.5: midtread rounds half to even (2), dead-zone δ=0.5 toward zero (1).
    x = np.float32([0.75])
    assert Midtread(4).encode(x)[0] == 2 and Deadzone(4, 0.5).encode(x)[0] == 1
    # x = 0: midrise has no zero level (+1), dead-zone δ=0 gives the zero symbol.
    assert Midrise(4).encode(np.float32([0.0]))[0] == 1 and Deadzone(4, 0.0).encode(np.float32([0.0]))[0] == 0


def test_clipping_to_the_outermost_level():
    x = np.float32([5.0, -5.0])
    np.testing.assert_allclose(Midtread(8)(x), [1.0, -1.0])
    np.testing.assert_allclose(Midrise(8)(x), [0.875, -0.875])
    np.testing.assert_allclose(MuLaw(8)(x), [1.0, -1.0], rtol=1e-6)


def test_xmax_max_uses_the_tensor_range_and_decodes_after_encode():
    x = laplacian(1000, np.float32, scale=3.0)
    quantizer = Midtread(256, xmax="max")
    with pytest.raises(ValueError, match="encode first"):
        quantizer.decode(np.zeros(3, np.int32))
    symbols = quantizer.encode(x)
    assert quantizer.xmax_ == pytest.approx(float(np.abs(x).max()))
    assert np.abs(symbols).max() == 128
    np.testing.assert_array_equal(quantizer.decode(symbols), Midtread(256, xmax=quantizer.xmax_)(x))


@settings(max_examples=60, deadline=None)
@given(
    x=hnp.arrays(np.float64, st.integers(1, 200), elements=st.floats(-4, 4, allow_subnormal=True)),
    levels=st.integers(2, 1 << 24),
    delta=st.floats(0, 0.999),
)
def test_properties(x, levels, delta):
    step = 2.0 / levels
    for quantizer in (Midtread(levels), Deadzone(levels, delta)):
        y = quantizer(x)
        inside = np.abs(x) <= 1.0 - step
        # midtread error <= Δ/2; dead-zone error <= max(δ, 1-δ)·Δ inside the range (float32 output)
        bound = step / 2 if isinstance(quantizer, Midtread) else max(delta, 1 - delta) * step
        assert np.all(np.abs(y - x)[inside] <= bound * (1 + 1e-6) + 1e-6 * np.abs(x[inside]))
        order = np.argsort(x, kind="stable")  # monotone
        assert np.all(np.diff(y[order]) >= 0)
    grid = (np.arange(-(levels // 2), levels // 2 + 1, max(1, levels // 64)) * step).astype(np.float32)
    expected = np.clip(np.rint(grid / np.float32(step)), -(levels // 2), levels // 2)  # float32 ends may round past L/2
    assert np.array_equal(Midtread(levels)(grid), np.float32(step) * expected)


def test_any_shape_and_non_contiguous_input():
    x = laplacian(6 * 7 * 8, np.float64).reshape(6, 7, 8)
    view = x[:, ::2, 1::3]
    assert not view.flags.c_contiguous
    for quantizer in (Midtread(64), Midrise(64), Deadzone(64, 0.25), MuLaw(64)):
        out = quantizer(view)
        assert out.shape == view.shape and out.dtype == np.float32
        np.testing.assert_array_equal(out, quantizer(np.ascontiguousarray(view)))
        np.testing.assert_array_equal(quantizer.encode(view), quantizer.encode(view.copy()))


@pytest.mark.parametrize("quantizer", [Midtread(16), Midrise(16), Deadzone(16, 0.4), MuLaw(16, mu=100.0, xmax=0.5)])
def test_repr_reads_back(quantizer):
    from edgequant.quantizers import Deadzone, Midrise, Midtread, MuLaw  # noqa: F401 (eval namespace)

    assert eval(repr(quantizer)) == quantizer


def test_mulaw_compands_small_values_finely():
    x = np.float32([0.001, 0.01, 0.5])
    rel_error = np.abs(MuLaw(256)(x) - x) / x
    uni_error = np.abs(Midtread(256)(x) - x) / x
    assert rel_error[0] < uni_error[0] and rel_error[1] < uni_error[1]
