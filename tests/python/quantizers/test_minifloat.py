"""Minifloat: every code of the small formats, NumPy/ml_dtypes equivalence, properties, errors."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import edgequant
from edgequant.quantizers import QUANTIZERS, Minifloat

PAPER_FORMATS = [
    (4, 7),
    (3, 6),
    (3, 4),
    (4, 3),
    (3, 3),
    (2, 4),
    (2, 3),
    (1, 4),
    (2, 2),
    (1, 3),
    (1, 2),
    (0, 3),
]
SMALL_FORMATS = (
    [Minifloat(e, m) for e, m in PAPER_FORMATS]
    + [Minifloat(4, 3, mode="ieee"), Minifloat(3, 2, mode="ieee"), Minifloat(2, 1, mode="ieee")]
    + [
        Minifloat.fp8_e4m3(),
        Minifloat.fp8_e5m2(),
        Minifloat(3, 4, mode="fn"),
        Minifloat(4, 3, bias=3),
    ]
)
NAMED = {
    "fp16": (Minifloat.fp16, np.float16),
    "bf16": (Minifloat.bf16, ml_dtypes.bfloat16),
    "fp8_e5m2": (Minifloat.fp8_e5m2, ml_dtypes.float8_e5m2),
    "fp8_e4m3": (Minifloat.fp8_e4m3, ml_dtypes.float8_e4m3fn),
}


def bits_of(values: np.ndarray) -> np.ndarray:
    return values.astype(np.float32).view(np.uint32)


def every_code(q: Minifloat):
    codes = np.arange(2**q.bits, dtype=np.int32)
    return codes, q.decode(codes)


def random_values(n: int, low: float, high: float, seed: int = 0) -> np.ndarray:
    """Log-uniform magnitudes 2^low .. 2^high with random signs, float32 (beyond 2^128: ±Inf)."""
    rng = np.random.default_rng(seed)
    magnitudes = np.exp2(rng.uniform(low, high, n))
    with np.errstate(over="ignore"):
        return (magnitudes * rng.choice([-1.0, 1.0], n)).astype(np.float32)


def edge_values(q: Minifloat) -> np.ndarray:
    """Specials, zeros, the smallest normal/subnormal neighbourhood and the overflow boundary."""
    tiny, big = q.min_normal, q.max_value
    ulp_at_top = big * 2.0**-q.mantissa_bits / (2 - 2.0**-q.mantissa_bits)
    base = [
        0.0,
        tiny,
        tiny / 2,
        tiny * 2.0**-q.mantissa_bits,
        1.5 * tiny * 2.0**-q.mantissa_bits,
        big,
        big + ulp_at_top / 2,
        big + ulp_at_top / 4,
        big + ulp_at_top,
        2 * big,
        1e30,
        np.inf,
        1.0,
        1.5,
    ]
    with np.errstate(over="ignore"):
        values = np.array(base).astype(np.float32)
    values = np.concatenate(
        [values, np.nextafter(values, np.float32(0)), np.nextafter(values, np.float32(np.inf))]
    )
    return np.concatenate([values, -values, [np.nan, -np.nan]]).astype(np.float32)


# --- every code of the small formats -------------------------------------------------------------


@pytest.mark.parametrize("q", SMALL_FORMATS, ids=repr)
def test_every_representable_value_maps_to_itself(q):
    codes, values = every_code(q)
    finite = np.isfinite(values)
    assert q.mode == "ieee" or finite.sum() >= len(codes) - 2  # paper: all; fn: all but two NaNs
    for dtype in (np.float32, np.float64):
        assert np.array_equal(q.encode(values[finite].astype(dtype)), codes[finite])
    if q.mode == "ieee":  # ±Inf codes
        inf = ~finite & ~np.isnan(values)
        assert np.array_equal(q.encode(values[inf]), codes[inf])
    assert np.array_equal(bits_of(q(values[finite])), bits_of(values[finite]))


@pytest.mark.parametrize("q", SMALL_FORMATS, ids=repr)
def test_midpoints_round_to_the_even_code_and_neighbours_to_the_nearer(q):
    codes, values = every_code(q)
    positive = np.isfinite(values) & (values > 0) | (codes == 0) & (q.mode != "paper")
    order = np.argsort(values[positive])
    v, c = values[positive][order].astype(np.float64), codes[positive][order]
    mid = (v[:-1] + v[1:]) / 2  # exact in float64 (and float32 for these widths)
    for sign in (1, -1):
        sign_bit = 0 if sign > 0 else 1 << (q.bits - 1)
        tie = q.encode(sign * mid)
        assert np.all(tie % 2 == 0), "ties must go to the even mantissa"
        assert np.all((tie == (c[:-1] | sign_bit)) | (tie == (c[1:] | sign_bit)))
        below = q.encode(sign * np.nextafter(mid, 0))
        above = q.encode(sign * np.nextafter(mid, np.inf))
        assert np.array_equal(below, c[:-1] | sign_bit)
        assert np.array_equal(above, c[1:] | sign_bit)
        assert np.array_equal(q.encode((sign * mid).astype(np.float32)), tie)


# --- named formats against NumPy / ml_dtypes -----------------------------------------------------


@pytest.mark.parametrize("name", NAMED)
def test_named_format_matches_numpy_or_ml_dtypes_bit_for_bit(name):
    make, dtype = NAMED[name]
    q = make()
    low = np.log2(q.min_normal) - q.mantissa_bits - 2
    x = np.concatenate([random_values(200_001, low, np.log2(q.max_value) + 2), edge_values(q)])
    ties = every_code(q)[1].astype(np.float64) if q.bits <= 16 else np.array([], dtype=np.float64)
    ties = ties[np.isfinite(ties)]
    ties = np.sort(ties[ties >= 0])
    x = np.concatenate([x, ((ties[:-1] + ties[1:]) / 2).astype(np.float32)])  # every tie
    with np.errstate(over="ignore", invalid="ignore"):
        expected = x.astype(dtype)
    if name == "fp8_e4m3":  # ml_dtypes' cast overflows to NaN; ours saturates to ±448
        overflow = np.isnan(expected.astype(np.float32)) & ~np.isnan(x)
        assert np.array_equal(q(x[overflow]), np.copysign(448.0, x[overflow]).astype(np.float32))
        x, expected = x[~overflow], expected[~overflow]
    symbols = q.encode(x)
    expected_bits = expected.view(np.uint8 if q.bits == 8 else np.uint16)
    nan = np.isnan(x)
    assert np.array_equal(symbols[~nan], expected_bits[~nan].astype(np.int32))
    assert np.all(np.isnan(q.decode(symbols[nan])))
    assert np.array_equal(bits_of(q(x[~nan])), bits_of(expected[~nan].astype(np.float32)))


def test_fp16_overflow_boundary_subnormals_and_signed_zero():
    q = Minifloat.fp16()
    x = np.array(
        [65504, 65519.996, 65520, -65520, 2.0**-24, 2.0**-25, 3 * 2.0**-25, -0.0, 0.0], np.float32
    )
    assert list(q.encode(x)) == [0x7BFF, 0x7BFF, 0x7C00, 0xFC00, 1, 0, 2, 0x8000, 0]
    with np.errstate(over="ignore"):
        expected = x.astype(np.float16).view(np.uint16).astype(np.int32)
    assert np.array_equal(q.encode(x.astype(np.float64)), expected)


def test_float64_input_is_rounded_once():
    q = Minifloat.bf16()
    x = np.array([1 + 2.0**-8 + 2.0**-30], np.float64)  # above the tie in float64, on it in float32
    assert q(x)[0] == np.float32(1 + 2.0**-7)
    assert q(x.astype(np.float32))[0] == np.float32(1.0)
    half = Minifloat.fp16()
    y = random_values(10_000, -30, 17, seed=3).astype(np.float64) * (1 + 1e-9)
    with np.errstate(over="ignore"):
        expected = y.astype(np.float16).view(np.uint16).astype(np.int32)
    assert np.array_equal(half.encode(y), expected)


# --- paper mode conventions ----------------------------------------------------------------------


def test_paper_mode_default_bias_spans_minus_one_to_one():
    for e, m in PAPER_FORMATS:
        q = Minifloat(e, m)
        assert q.bias == 2**e - 1
        assert q.max_value == 2 - 2.0**-m
        assert q(np.array([1.0, -1.0], np.float32)).tolist() == [1.0, -1.0]


def test_paper_mode_tiny_values_map_to_the_smallest_normal_with_the_sign_of_x():
    q = Minifloat(3, 3)
    smallest = 2.0**-7
    x = np.array([0.0, -0.0, 1e-30, -1e-30, smallest / 3, 5.0, -5.0], np.float32)
    assert q(x).tolist() == [smallest, smallest, smallest, -smallest, smallest, 1.875, -1.875]


def test_paper_mode_refuses_nan_and_inf_while_ieee_and_fn_propagate():
    x = np.array([1.0, np.nan, -np.inf], np.float32)
    with pytest.raises(ValueError, match="NaN/Inf"):
        Minifloat(3, 3).encode(x)
    with pytest.raises(ValueError, match="NaN/Inf"):
        Minifloat(3, 3)(x)
    out = Minifloat.fp16()(x)
    assert out[0] == 1 and np.isnan(out[1]) and out[2] == -np.inf
    out = Minifloat.fp8_e4m3()(x)
    assert out[0] == 1 and np.isnan(out[1]) and out[2] == -448


# --- properties ----------------------------------------------------------------------------------

FORMATS_FOR_PROPERTIES = [Minifloat(e, m) for e, m in PAPER_FORMATS] + [
    make() for make, _ in NAMED.values()
]
finite_floats = st.floats(allow_nan=False, allow_infinity=False, width=32)


@settings(max_examples=300, deadline=None)
@given(q=st.sampled_from(FORMATS_FOR_PROPERTIES), x=finite_floats, y=finite_floats)
def test_quantization_is_monotonic(q, x, y):
    x, y = min(x, y), max(x, y)
    qx, qy = q(np.array([x, y], np.float32))
    assert qx <= qy


@settings(max_examples=300, deadline=None)
@given(q=st.sampled_from(FORMATS_FOR_PROPERTIES), x=finite_floats)
def test_error_is_at_most_half_an_ulp_inside_the_range(q, x):
    magnitude = abs(x)
    subnormals = q.mode != "paper"
    if magnitude > q.max_value or (magnitude < q.min_normal and not subnormals):
        return
    binade = max(np.floor(np.log2(magnitude)) if magnitude > 0 else -np.inf, np.log2(q.min_normal))
    half_ulp = 2.0 ** (binade - q.mantissa_bits - 1)
    assert abs(float(q(np.array([x], np.float32))[0]) - x) <= half_ulp


@settings(max_examples=100, deadline=None)
@given(q=st.sampled_from(FORMATS_FOR_PROPERTIES), seed=st.integers(0, 2**32 - 1))
def test_fused_equals_decode_of_encode_and_reference_kernels_agree(q, seed):
    x = random_values(
        1001, np.log2(q.min_normal) - q.mantissa_bits - 3, np.log2(q.max_value) + 3, seed
    )
    if q.mode != "paper":
        x[::97] = np.nan
        x[1::97] = -np.inf
    fused, symbols = q(x), q.encode(x)
    assert np.array_equal(bits_of(fused), bits_of(q.decode(symbols)))
    x64 = x.astype(np.float64) * (1 + 2.0**-40)  # off the float32 grid: float64 rounding matters
    symbols64 = q.encode(x64)
    with edgequant.use_reference_kernels():
        assert np.array_equal(q.encode(x), symbols)
        assert np.array_equal(q.encode(x64), symbols64)
        assert np.array_equal(bits_of(q(x)), bits_of(fused))


# --- shapes, dtypes, API -------------------------------------------------------------------------


def test_shapes_float64_and_non_contiguous_input():
    q = Minifloat.fp16()
    x = random_values(600, -20, 10).reshape(20, 30)
    for view in (x[:, ::3], x.T, x.astype(np.float64)[::2, 1::2]):
        assert not view.flags.c_contiguous
        out = q(view)
        assert out.shape == view.shape and out.dtype == np.float32
        assert q.encode(view).shape == view.shape
        assert np.array_equal(out, view.astype(np.float16).astype(np.float32))


def test_decode_refuses_codes_outside_the_format():
    q = Minifloat(3, 3)
    with pytest.raises(ValueError, match="outside"):
        q.decode(np.array([0, 128], np.int32))
    with pytest.raises(ValueError, match="outside"):
        q.decode(np.array([-1], np.int32))


def test_repr_reads_back_and_registry():
    assert QUANTIZERS["minifloat"] is Minifloat
    for q in SMALL_FORMATS + FORMATS_FOR_PROPERTIES + [Minifloat(8, 21, bias=128)]:
        assert eval(repr(q)) == q
    assert (
        repr(Minifloat(4, 3))
        == "Minifloat(exponent_bits=4, mantissa_bits=3, bias=15, mode='paper')"
    )
    assert Minifloat.fp16() == Minifloat(5, 10, bias=15, mode="ieee")
    assert Minifloat.fp8_e4m3().max_value == 448


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        (dict(exponent_bits=9, mantissa_bits=3), "exponent_bits"),
        (dict(exponent_bits=-1, mantissa_bits=3), "exponent_bits"),
        (dict(exponent_bits=4, mantissa_bits=24), "mantissa_bits"),
        (dict(exponent_bits=4, mantissa_bits=3, mode="ieee754"), "mode"),
        (dict(exponent_bits=8, mantissa_bits=7), "bias"),  # paper default 255: 2^-255 underflows
        (dict(exponent_bits=4, mantissa_bits=3, bias=-200), "bias"),
        (dict(exponent_bits=4, mantissa_bits=3, bias=200), "bias"),
        (dict(exponent_bits=1, mantissa_bits=3, mode="ieee"), "exponent_bits"),
        (dict(exponent_bits=4, mantissa_bits=0, mode="fn"), "mantissa_bits"),
    ],
)
def test_bad_parameters_raise_naming_the_parameter(kwargs, parameter):
    with pytest.raises(ValueError, match=parameter):
        Minifloat(**kwargs)


def test_non_integer_parameters_raise_type_error():
    with pytest.raises(TypeError, match="exponent_bits"):
        Minifloat(4.0, 3)
    with pytest.raises(TypeError, match="bias"):
        Minifloat(4, 3, bias=7.5)
