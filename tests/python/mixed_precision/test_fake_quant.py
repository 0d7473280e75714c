"""The torch fake quantization of QAT equals edgequant.quantizers.Affine bit for bit."""

import os

import numpy as np
import pytest

if os.environ.get("EDGEQUANT_REQUIRE_TORCH") == "1":
    import torch  # CI sets the variable: a missing torch must fail, not skip
else:
    torch = pytest.importorskip("torch")

from edgequant.mixed_precision.fake_quant import affine_codes, affine_fake_quantize  # noqa: E402
from edgequant.quantizers import Affine  # noqa: E402

pytestmark = pytest.mark.torch


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a.view(np.int32), b.view(np.int32))


def random_weights(rng, shape, magnitude):
    return (rng.standard_normal(shape) * magnitude).astype(np.float32)


def tie_weights(rng, shape, bits):
    """Weights at exact half-steps of their grid: with max|w| = 2^(b−1) − ½ the symmetric scale
    2·max|w|/(2^b − 1) is exactly 1, so every ``c + ½`` is a tie."""
    codes = rng.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1, size=shape)
    values = (codes + 0.5).astype(np.float32)
    values.reshape(shape[0], -1)[:, 0] = (1 << (bits - 1)) - 0.5  # pins max|w|
    return values


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("bits", [2, 3, 4, 8, 16])
@pytest.mark.parametrize("shape", [(1,), (5,), (3, 7), (4, 3, 3, 3), (2, 300), (6, 1, 1, 1)])
def test_equals_affine_random(bits, symmetric, shape):
    rng = np.random.default_rng(bits * 100 + len(shape))
    for magnitude in (1e-30, 1e-3, 1.0, 1e30):
        w = random_weights(rng, shape, magnitude)
        affine = Affine(bits=bits, symmetric=symmetric, axis=0)
        got = affine_fake_quantize(torch.from_numpy(w), bits, symmetric).numpy()
        assert same_bits(got, affine(w)), (bits, symmetric, shape, magnitude)
        codes, scales, zero_points = affine_codes(torch.from_numpy(w), bits, symmetric)
        assert np.array_equal(codes.numpy(), affine.encode(w))
        assert np.array_equal(scales.numpy(), np.asarray(affine.scale, np.float32))
        assert np.array_equal(zero_points.numpy(), affine.zero_point)


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_equals_affine_on_ties_zeros_and_constants(bits):
    rng = np.random.default_rng(bits)
    w = tie_weights(rng, (8, 3, 5), bits)
    affine = Affine(bits=bits, axis=0)
    got = affine_fake_quantize(torch.from_numpy(w), bits).numpy()
    assert same_bits(got, affine(w))
    assert np.all(affine.scale == 1.0)
    codes = affine_codes(torch.from_numpy(w), bits)[0].numpy()
    inside = np.abs(w) < (1 << (bits - 1)) - 1  # not clamped
    assert np.all(codes[inside] % 2 == 0)  # ties went to even, half of them towards zero
    special = np.zeros((4, 6), np.float32)
    special[1] = 3.0                     # a constant channel
    special[2, :3] = [-0.0, 0.0, 1e-45]  # signed zeros and a subnormal
    special[3] = np.float32(3e38)        # near the float32 limit
    for symmetric in (True, False):
        assert same_bits(affine_fake_quantize(torch.from_numpy(special), bits, symmetric).numpy(),
                         Affine(bits=bits, symmetric=symmetric, axis=0)(special))


def test_non_contiguous_and_float64_inputs():
    rng = np.random.default_rng(1)
    w = random_weights(rng, (6, 10), 1.0)
    transposed = torch.from_numpy(w).t()  # a non-contiguous view, shape (10, 6)
    assert same_bits(affine_fake_quantize(transposed, 4).numpy(), Affine(bits=4, axis=0)(np.ascontiguousarray(w.T)))
    w64 = rng.standard_normal((5, 9))
    assert same_bits(affine_fake_quantize(torch.from_numpy(w64), 3).numpy(), Affine(bits=3, axis=0)(w64))


def test_per_channel_bit_widths_equal_one_affine_per_channel():
    rng = np.random.default_rng(2)
    w = random_weights(rng, (5, 4, 3), 0.5)
    bits = [2, 8, 4, 3, 16]
    got = affine_fake_quantize(torch.from_numpy(w), bits).numpy()
    expected = np.stack([Affine(bits=b, axis=0)(w[c:c + 1])[0] for c, b in enumerate(bits)])
    assert same_bits(got, expected)


def test_straight_through_gradient():
    w = torch.randn(4, 5, requires_grad=True)
    upstream = torch.randn(4, 5)
    (affine_fake_quantize(w, 2) * upstream).sum().backward()
    assert torch.equal(w.grad, upstream)


@pytest.mark.parametrize("bad, match", [
    (dict(bits=1), "bits"), (dict(bits=17), "bits"), (dict(bits=4.0), "bits"), (dict(bits=True), "bits"),
    (dict(bits=[4, 4]), "one per output channel"),
])
def test_bad_bits(bad, match):
    with pytest.raises(ValueError, match=match):
        affine_fake_quantize(torch.ones(3, 2), **bad)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_weights_are_refused(value):
    w = torch.ones(3, 4)
    w[1, 2] = value
    with pytest.raises(ValueError, match="layer1.*NaN/Inf"):
        affine_fake_quantize(w, 4, name="layer1")
    with pytest.raises(ValueError):
        Affine(bits=4, axis=0)(w.numpy())  # the reference refuses them too


def test_empty_and_scalar_are_refused():
    with pytest.raises(ValueError, match="non-empty"):
        affine_fake_quantize(torch.zeros(0, 3), 4)
    with pytest.raises(ValueError, match="non-empty"):
        affine_fake_quantize(torch.tensor(1.0), 4)
