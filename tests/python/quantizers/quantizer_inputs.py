"""Inputs the quantizer tests share: Laplacian weights and the edge values around a uniform grid."""

import numpy as np


def laplacian(n, dtype, scale=0.1, seed=0):
    return np.random.default_rng(seed).laplace(0, scale, n).astype(dtype)


def edge_values(step, dtype):
    """Grid points, midpoints (ties), zeros of both signs, range ends, far outside."""
    k = np.arange(-70, 71, dtype=np.float64)
    values = np.concatenate([k * step, (k + 0.5) * step, [0.0, -0.0, 1.0, -1.0, 1e30, -1e30, 5e-324]])
    return values.astype(dtype)


def assert_matches_reference(quantizer, x, encode_ref, decode_ref, **params):
    """Symbols and reconstructions bit for bit against a NumPy reference; fused = decode(encode)."""
    symbols = quantizer.encode(x)
    expected = encode_ref(x, **params)
    mismatch = np.flatnonzero(symbols != expected)
    assert mismatch.size == 0, f"first mismatch at {mismatch[:5]}: x={x[mismatch[:5]]!r}"
    np.testing.assert_array_equal(quantizer.decode(symbols), decode_ref(expected, **params))
    np.testing.assert_array_equal(quantizer(x), quantizer.decode(symbols))


DTYPES = [np.float32, np.float64]
LEVELS = [2, 4, 16, 256, 4096, 1 << 24]
