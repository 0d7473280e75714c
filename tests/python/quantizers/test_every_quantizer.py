"""Checks run on every quantizer in the registry: a new family is covered when registered."""

import numpy as np
import pytest
import quantizer_reference as ref

import edgequant
from edgequant.quantizers import QUANTIZERS
from edgequant.quantizers.registry import FAMILIES, check_parameter, examples

#: (family, example index) for every example every registered family declares (cpp/quant/<name>.cpp).
EXAMPLES = [(name, index) for name in FAMILIES for index in range(len(examples(name)))]


def make_example(name, index):
    return QUANTIZERS[name](**examples(name)[index])


@pytest.fixture(params=EXAMPLES, ids=[f"{name}-{index}" for name, index in EXAMPLES])
def quantizer(request):
    return make_example(*request.param)


def accepts_non_finite(quantizer) -> bool:
    """Formats that represent NaN/Inf (IEEE-style minifloats) keep them instead of refusing them."""
    return getattr(quantizer, "mode", "paper") != "paper"


def test_every_family_has_a_class_examples_and_a_numpy_reference():
    assert list(QUANTIZERS) == list(FAMILIES)
    for name in FAMILIES:
        assert examples(name), f"{name} declares no examples in its C++ registration"
        assert name in ref.REFERENCES, f"{name} has no NumPy reference in quantizer_reference.REFERENCES"
        assert QUANTIZERS[name].name == name


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
    if accepts_non_finite(quantizer):
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


def test_huge_array_matches_the_reference_and_chunked_result(quantizer):
    x = np.random.default_rng(9).laplace(0, 0.1, 3_000_001).astype(np.float32)
    whole = quantizer.encode(x)  # every core, several chunks each, an odd tail
    with edgequant.use_reference_kernels():
        np.testing.assert_array_equal(whole, quantizer.encode(x))
    if not quantizer.decode_state():  # fitted to the whole tensor: chunks would get other parameters
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
    if accepts_non_finite(quantizer):
        pytest.skip("IEEE-mode minifloat represents NaN/Inf")
    for bad in (np.nan, np.inf):
        x = np.float32([0.1, 0.2, bad, 0.3, 0.7])
        before = x.copy()
        with pytest.raises(ValueError, match="NaN/Inf.*index 2"):
            quantizer(x, out=x)
        np.testing.assert_array_equal(x, before)


# --- registry-wide: fast kernels against the scalar references and the NumPy references -------

def edge_case_arrays(quantizer, dtype):
    """Laplacian weights plus what breaks kernels: every level and the midpoints between
    neighbouring levels (ties), zeros of both signs, clipping far outside, huge and tiny values."""
    rng = np.random.default_rng(21)
    base = np.concatenate([rng.laplace(0, 0.1, 1001), [0.0, -0.0, 0.5, -0.5, 1.0, -1.0]]).astype(dtype)
    levels = np.unique(quantizer(base).astype(np.float64))
    levels = levels[np.isfinite(levels)]
    ties = (levels[1:] + levels[:-1]) / 2
    grid = np.concatenate([base, levels, -levels, ties, -ties, np.nextafter(ties, 0), np.nextafter(ties, 10)])
    extreme = np.concatenate([base, [10.0, -10.0, 1e30, -1e30, FLT_MAX, -FLT_MAX, 1e-30, -1e-30, 1e-45, -1e-45]])
    return {"ties": grid.astype(dtype), "clipping": extreme.astype(dtype),
            "non_contiguous": np.repeat(grid, 3).astype(dtype).reshape(-1, 3)[:, ::2].T,
            "single": np.array([0.3], dtype)}


def assert_bits_equal(actual, expected, x, what):
    """Bit-for-bit equality (NaN payloads included); the first mismatches name their inputs."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    view = np.uint32 if actual.dtype == np.float32 else actual.dtype
    differ = np.flatnonzero(actual.view(view).reshape(-1) != expected.astype(actual.dtype).view(view).reshape(-1))
    first = differ[:3]
    assert differ.size == 0, (f"{what}: {differ.size} mismatch(es), first at {first}: x={x.reshape(-1)[first]!r} "
                              f"got {actual.reshape(-1)[first]!r}, expected {expected.reshape(-1)[first]!r}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", ["ties", "clipping", "non_contiguous", "single"])
def test_fast_kernels_match_the_scalar_reference_bit_for_bit(quantizer, case, dtype):
    x = edge_case_arrays(quantizer, dtype)[case]
    symbols, fused = quantizer.encode(x), quantizer(x)
    with edgequant.use_reference_kernels():
        reference_symbols, reference_fused = quantizer.encode(x), quantizer(x)
    assert_bits_equal(symbols, reference_symbols, x, "encode")
    assert_bits_equal(fused, reference_fused, x, "quantize")
    assert_bits_equal(quantizer.decode(symbols), fused, x, "decode(encode(x)) vs q(x)")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", ["ties", "clipping", "non_contiguous"])
def test_matches_the_numpy_reference_from_spec(quantizer, case, dtype):
    x = edge_case_arrays(quantizer, dtype)[case]
    symbols = quantizer.encode(x)
    with np.errstate(over="ignore", invalid="ignore"):  # x / step overflows to ±Inf, then clips
        expected_symbols, expected_reconstruction = ref.REFERENCES[quantizer.name](quantizer, np.ascontiguousarray(x))
    assert_bits_equal(symbols, expected_symbols, x, "encode vs NumPy")
    assert_bits_equal(quantizer(x), expected_reconstruction, x, "quantize vs NumPy")


def test_non_finite_values_agree_with_the_reference_where_they_are_representable(quantizer):
    if not accepts_non_finite(quantizer):
        pytest.skip("refuses NaN/Inf (test_non_finite_input_raises)")
    x = np.float32([0.1, np.nan, np.inf, -np.inf, -np.nan, 0.0, -0.0])
    symbols, fused = quantizer.encode(x), quantizer(x)
    with edgequant.use_reference_kernels():
        assert_bits_equal(symbols, quantizer.encode(x), x, "encode")
        assert_bits_equal(fused, quantizer(x), x, "quantize")


def bad_values(parameter):
    """(value, exception) pairs outside what a declared parameter accepts."""
    kind, low, high = parameter.kind, parameter.low, parameter.high
    if kind == "integer":
        return [(int(low) - 1, ValueError), (int(high) + 1, ValueError), (2.5, TypeError), ("3", TypeError)]
    if kind == "real":
        cases = [(low if parameter.low_open else low - 1.0, ValueError), (float("nan"), ValueError), ("x", TypeError)]
        if np.isfinite(high):
            cases.append((high if parameter.high_open else high + 1.0, ValueError))
        return cases
    if kind == "choice":
        return [("no-such-choice", ValueError)]
    if kind == "range":
        return [(-1.0, ValueError), (0.0, ValueError), ("no-such-range", ValueError), (float("inf"), ValueError)]
    return []  # booleans: any value is truthy or not


@pytest.mark.parametrize("name", list(FAMILIES))
def test_bad_parameters_raise_errors_naming_them(name):
    arguments = examples(name)[0]
    for parameter in FAMILIES[name].parameters:
        if parameter.name in arguments:  # the example itself is valid
            assert check_parameter(parameter, arguments[parameter.name]) == arguments[parameter.name]
        for value, error in bad_values(parameter):
            with pytest.raises(error, match=parameter.name):
                QUANTIZERS[name](**{**arguments, parameter.name: value})
    with pytest.raises(TypeError):
        QUANTIZERS[name](**arguments, no_such_parameter=1)
