"""Power-of-two beyond the registry-wide tests: the documented convention, computed by hand."""

import numpy as np
import pytest

from edgequant.quantizers import PowerOfTwo

SQRT_HALF = np.sqrt(0.5)


def test_levels_and_symbols_of_four_bits():
    # K = 2^3 - 1 = 7 exponents and 0: levels 2^-6 ... 2^0, |q| = 7 is xmax
    q = PowerOfTwo(4)
    levels = np.float32([2.0**-k for k in range(7)])
    np.testing.assert_array_equal(q.encode(levels), [7, 6, 5, 4, 3, 2, 1])
    np.testing.assert_array_equal(q(levels), levels)  # every level maps to itself
    np.testing.assert_array_equal(q(-levels), -levels)
    np.testing.assert_array_equal(q.decode(np.int32([0, 1, -7])), np.float32([0.0, 2.0**-6, -1.0]))


def test_rounding_is_in_the_log_domain_at_the_geometric_mean():
    q = PowerOfTwo(4)
    boundary = np.float64(SQRT_HALF)  # between 0.5 and 1 lies 2^-0.5, not 0.75
    above, below = np.nextafter(boundary, 1), np.nextafter(boundary, 0)
    np.testing.assert_array_equal(q(np.float64([above, below, 0.74])), np.float32([1.0, 0.5, 1.0]))
    # the tie |x| == fl(xmax·√2)·2^-1 itself goes up
    tie = np.ldexp(np.float64(1.0) * np.sqrt(2.0), -1)
    assert q.encode(np.float64([tie]))[0] == 7 and q.encode(np.float64([np.nextafter(tie, 0)]))[0] == 6


def test_underflow_to_zero_or_the_smallest_level_and_clipping():
    smallest = 2.0**-6
    x = np.float64([smallest * SQRT_HALF * 1.001, smallest * SQRT_HALF * 0.999, 0.0, -0.0, 5.0, -1e30])
    np.testing.assert_array_equal(PowerOfTwo(4).encode(x), [1, 0, 0, 0, 7, -7])
    # without a zero level: K = 8 exponents, 2^-7 ... 1; s(±0) = +1
    no_zero = PowerOfTwo(4, zero=False)
    np.testing.assert_array_equal(no_zero.encode(np.float64([0.0, -0.0, 1e-9, -1e-9])), [1, 1, 1, -1])
    assert no_zero(np.float32([1e-9]))[0] == np.float32(2.0**-7)
    with pytest.raises(ValueError, match="alphabet"):
        no_zero.decode(np.int32([0]))


def test_xmax_scales_every_level_and_two_bits_is_ternary():
    q = PowerOfTwo(2, xmax=3.0)  # K = 1: levels 0, ±3
    np.testing.assert_array_equal(q(np.float32([0.0, 2.2, 2.0, -4.0])), np.float32([0.0, 3.0, 0.0, -3.0]))
    assert PowerOfTwo(8, xmax="max").encode(np.float32([0.25, -1.0, 0.5])).tolist() == [125, -127, 126]


def test_bad_parameters_name_themselves():
    with pytest.raises(ValueError, match="bits"):
        PowerOfTwo(9)
    with pytest.raises(TypeError, match="bits"):
        PowerOfTwo(4.0)
    with pytest.raises(ValueError, match="xmax"):
        PowerOfTwo(4, xmax=-1.0)
