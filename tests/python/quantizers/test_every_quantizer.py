"""Checks run on every quantizer in the registry: a new family is covered when registered."""

import numpy as np
import pytest

from edgequant.quantizers import QUANTIZERS

DEFAULT_ARGS = {
    "midtread": (256,), "midrise": (256,), "deadzone": (256, 0.4), "mulaw": (256,),
    "affine": (8,), "prune_quantize": (0.25, 8), "minifloat": (4, 3),
}


@pytest.fixture(params=sorted(QUANTIZERS))
def quantizer(request):
    return QUANTIZERS[request.param](*DEFAULT_ARGS[request.param])


SIZES = [1, 7, 8, 63, 64, 65, 1023, 100_003]


@pytest.mark.parametrize("size", SIZES)
def test_sizes_around_vector_widths(quantizer, size):
    x = np.random.default_rng(size).laplace(0, 0.1, size).astype(np.float32)
    symbols = quantizer.encode(x)
    assert symbols.dtype == np.int32 and symbols.shape == x.shape
    np.testing.assert_array_equal(quantizer(x), quantizer.decode(symbols))


def test_float64_input_gives_float32_output(quantizer):
    x = np.linspace(-0.9, 0.9, 101)
    out = quantizer(x)
    assert out.dtype == np.float32 and out.shape == x.shape


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_raises(quantizer, bad):
    if getattr(quantizer, "mode", "paper") != "paper":
        pytest.skip("IEEE-mode minifloat represents NaN/Inf")
    x = np.float32([0.1, 0.2, bad, 0.3])
    with pytest.raises(ValueError, match="NaN/Inf.*index 2"):
        quantizer(x)
    with pytest.raises(ValueError, match="NaN/Inf"):
        quantizer.encode(x)


@pytest.mark.parametrize("bad", [np.arange(4), np.array([True, False]), np.array(["a"], dtype=object),
                                 np.zeros(3, np.complex64)])
def test_wrong_dtypes_raise_type_error(quantizer, bad):
    with pytest.raises(TypeError, match="x must be a float32 or float64 array"):
        quantizer(bad)


def test_empty_input_raises(quantizer):
    with pytest.raises(ValueError, match="x is empty"):
        quantizer(np.zeros(0, np.float32))


def test_decode_rejects_float_symbols(quantizer):
    quantizer.encode(np.float32([0.5]))
    with pytest.raises(TypeError, match="symbols must be an integer array"):
        quantizer.decode(np.float32([1.0]))


def test_repr_reads_back(quantizer):
    namespace = {cls.__name__: cls for cls in QUANTIZERS.values()}
    assert eval(repr(quantizer), namespace) == quantizer


def test_huge_array_matches_chunked_result(quantizer):
    x = np.random.default_rng(9).laplace(0, 0.1, 3_000_001).astype(np.float32)
    whole = quantizer.encode(x)
    if quantizer.name in ("affine", "prune_quantize"):
        return  # parameters depend on the whole tensor
    parts = np.concatenate([quantizer.encode(x[:1_000_000]), quantizer.encode(x[1_000_000:])])
    np.testing.assert_array_equal(whole, parts)


def test_out_parameter_writes_in_place(quantizer):
    x = np.random.default_rng(5).laplace(0, 0.1, (4, 9)).astype(np.float32)
    expected = quantizer(x)
    out = np.full_like(x, 7.0)
    assert quantizer(x, out=out) is out
    np.testing.assert_array_equal(out, expected)
    inplace = x.copy()
    quantizer(inplace, out=inplace)
    np.testing.assert_array_equal(inplace, expected)
    with pytest.raises(ValueError, match="shape"):
        quantizer(x, out=np.empty((9, 4), np.float32))
    with pytest.raises(TypeError, match="float32"):
        quantizer(x, out=np.empty((4, 9), np.float64))
