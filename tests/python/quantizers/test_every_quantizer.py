"""Checks run on every quantizer in the registry: a new family is covered when registered."""

import numpy as np
import pytest

from edgequant.quantizers import QUANTIZERS

DEFAULT_ARGS = {
    "midtread": (256,), "midrise": (256,), "deadzone": (256, 0.4), "mulaw": (256,),
    "affine": (8,), "prune_quantize": (0.25, 8), "minifloat": (4, 3),
}


@pytest.fixture(params=sorted(QUANTIZERS) + ["midtread_xmax_max", "affine_per_channel"])
def quantizer(request):
    if request.param == "midtread_xmax_max":
        return QUANTIZERS["midtread"](256, xmax="max")
    if request.param == "affine_per_channel":
        return QUANTIZERS["affine"](6, symmetric=False, axis=0)
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
    if quantizer.decode_state():
        return  # parameters fitted to the whole tensor: chunks would get other ones
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


def test_spec_round_trip_and_decode_state(quantizer):
    import copy
    import json

    from edgequant.quantizers import from_spec

    spec = json.loads(json.dumps(quantizer.spec()))  # JSON-able
    assert from_spec(spec) == quantizer
    x = np.random.default_rng(11).laplace(0, 0.1, (8, 16)).astype(np.float32)
    encoder = copy.deepcopy(quantizer)
    symbols = encoder.encode(x)
    state = json.loads(json.dumps(encoder.decode_state()))
    decoder = from_spec(spec)
    decoder.load_decode_state(state)
    np.testing.assert_array_equal(decoder.decode(symbols), encoder(x))


def test_from_spec_rejects_unknown_methods_and_parameters():
    from edgequant.quantizers import from_spec

    with pytest.raises(ValueError, match="unknown quantization method"):
        from_spec({"method": "lloyd_max", "params": {}})
    with pytest.raises(ValueError, match="bad parameters"):
        from_spec({"method": "midtread", "params": {"levels": 4, "colour": "red"}})
    with pytest.raises(ValueError, match="levels"):
        from_spec({"method": "midtread", "params": {"levels": 1}})


def test_pickle_and_deepcopy_keep_the_fitted_state(quantizer):
    import copy
    import pickle

    x = np.random.default_rng(12).laplace(0, 0.1, (4, 32)).astype(np.float32)
    symbols = quantizer.encode(x)
    for clone in (pickle.loads(pickle.dumps(quantizer)), copy.deepcopy(quantizer)):
        assert clone == quantizer
        np.testing.assert_array_equal(clone.decode(symbols), quantizer.decode(symbols))


# --- issue 9: extreme values and in-place safety ------------------------------------------------

FLT_MAX = float(np.finfo(np.float32).max)
HUGE = np.float32([FLT_MAX, -FLT_MAX, 0.999 * FLT_MAX, -0.5 * FLT_MAX, 1e30, 0.0, -1e-30, 3.0])


@pytest.mark.parametrize("make", [
    lambda: QUANTIZERS["deadzone"](256, 0.7, xmax="max"), lambda: QUANTIZERS["deadzone"](3, 0.9, xmax="max"),
    lambda: QUANTIZERS["midtread"](255, xmax="max"), lambda: QUANTIZERS["midrise"](7, xmax="max"),
    lambda: QUANTIZERS["mulaw"](256, xmax="max"), lambda: QUANTIZERS["affine"](8),
    lambda: QUANTIZERS["affine"](8, symmetric=False), lambda: QUANTIZERS["affine"](2, signed=False),
    lambda: QUANTIZERS["affine"](4, symmetric=False, axis=0), lambda: QUANTIZERS["midtread"](2, xmax=FLT_MAX),
], ids=["deadzone", "deadzone_3", "midtread", "midrise", "mulaw", "affine", "affine_asym", "affine_u2",
        "affine_per_channel", "midtread_fixed"])
def test_finite_input_near_float32_max_stays_finite(make):
    quantizer = make()
    for x in (HUGE, HUGE.astype(np.float64), HUGE.reshape(2, 4)):
        fused, symbols = quantizer(x), quantizer.encode(x)
        assert np.all(np.isfinite(fused)), (quantizer, fused)
        np.testing.assert_array_equal(fused, quantizer.decode(symbols))
        # the largest magnitudes come back as the largest levels: saturated, not wrapped
        assert fused.reshape(-1)[0] > 0 > fused.reshape(-1)[1]


def test_every_quantizer_keeps_huge_finite_input_finite(quantizer):
    if getattr(quantizer, "mode", "paper") == "ieee":
        pytest.skip("IEEE minifloat overflows to Inf by design")
    assert np.all(np.isfinite(quantizer(HUGE)))


def test_xmax_beyond_float32_is_refused():
    with pytest.raises(ValueError, match="largest float32"):
        QUANTIZERS["midtread"](256, xmax=1e39)(np.float32([1.0]))


def test_out_partly_overlapping_x_is_refused(quantizer):
    buffer = np.random.default_rng(6).laplace(0, 0.1, 40).astype(np.float32)
    original = buffer.copy()
    for x, out in ((buffer[:32], buffer[8:40]), (buffer[8:40], buffer[:32]), (buffer[:32], buffer[1:33])):
        with pytest.raises(ValueError, match="overlaps"):
            quantizer(x, out=out)
        np.testing.assert_array_equal(buffer, original)  # nothing written
    # the same memory through another view object is in place, not an overlap
    expected = quantizer(buffer[:32].copy())
    quantizer(buffer[:32], out=buffer[:32].view())
    np.testing.assert_array_equal(buffer[:32], expected)


def test_nan_in_place_is_refused_before_anything_is_written(quantizer):
    if getattr(quantizer, "mode", "paper") != "paper":
        pytest.skip("IEEE-mode minifloat represents NaN/Inf")
    for bad in (np.nan, np.inf):
        x = np.float32([0.1, 0.2, bad, 0.3, 0.7])
        before = x.copy()
        with pytest.raises(ValueError, match="NaN/Inf.*index 2"):
            quantizer(x, out=x)
        np.testing.assert_array_equal(x, before)
