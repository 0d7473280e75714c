"""Independent NumPy references of the quantizers, written from ../shared/SPEC.md §1.

Arithmetic follows the documented convention (cpp/quant/convention.h): symbols are computed in
the input's dtype with the step cast to it; reconstructions are float32.
"""

import numpy as np


def step(levels, xmax):
    return 2.0 * xmax / levels


def midtread_encode(x, levels, xmax=1.0):
    d = x.dtype.type(step(levels, xmax))
    return np.clip(np.rint(x / d), -(levels // 2), levels // 2).astype(np.int32)


def midtread_decode(q, levels, xmax=1.0):
    return np.float32(step(levels, xmax)) * q.astype(np.float32)


def midrise_encode(x, levels, xmax=1.0):
    d = x.dtype.type(step(levels, xmax))
    sign = np.where(x >= 0, 1, -1)  # s(x) = +1 for x >= 0
    magnitude = np.clip(np.ceil(np.abs(x) / d), 1, levels // 2)  # no zero level
    return (sign * magnitude).astype(np.int32)


def midrise_decode(q, levels, xmax=1.0):
    d = np.float32(step(levels, xmax))
    magnitude = d * (np.abs(q).astype(np.float32) - np.float32(0.5))
    return np.where(q < 0, -magnitude, magnitude).astype(np.float32)


def deadzone_encode(x, levels, delta, xmax=1.0):
    t = x.dtype.type
    d = t(step(levels, xmax))
    scaled = np.abs(x) / d - t(delta)
    magnitude = np.where(scaled <= 0, 0, np.clip(np.ceil(scaled), 0, levels // 2))
    return (np.where(x < 0, -1, 1) * magnitude).astype(np.int32)


def deadzone_decode(q, levels, delta, xmax=1.0):
    d = np.float32(step(levels, xmax))
    magnitude = d * (np.abs(q).astype(np.float32) + np.float32(delta - 0.5))
    magnitude = np.where(q == 0, np.float32(0), magnitude)
    return np.where(q < 0, -magnitude, magnitude).astype(np.float32)


def mulaw_encode(x, levels, mu=255.0, xmax=1.0):
    a = np.minimum(np.abs(x.astype(np.float64)), xmax)
    y = xmax * np.log1p(mu * a / xmax) / np.log1p(mu)
    q = np.clip(np.rint(y / step(levels, xmax)), 0, levels // 2)
    return (np.where(x < 0, -1, 1) * q).astype(np.int32)


def mulaw_decode(q, levels, mu=255.0, xmax=1.0):
    y = step(levels, xmax) * np.abs(q.astype(np.float64))
    magnitude = xmax / mu * ((1 + mu) ** (y / xmax) - 1)
    return np.where(q < 0, -magnitude, magnitude).astype(np.float32)


def affine_params(rmin, rmax, bits, symmetric, signed):
    qmin, qmax = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2 ** bits - 1)
    if symmetric:
        amax = max(abs(rmin), abs(rmax))
        scale = 2 * amax / (qmax - qmin) if amax > 0 else 1.0
        return max(scale, np.finfo(np.float32).tiny), (0 if signed else (qmin + qmax + 1) // 2), qmin, qmax
    lo, hi = min(rmin, 0.0), max(rmax, 0.0)
    if hi == lo:
        return 1.0, (0 if signed else qmin), qmin, qmax
    scale = max((hi - lo) / (qmax - qmin), np.finfo(np.float32).tiny)
    zero = int(np.clip(np.rint(qmin - lo / scale), qmin, qmax))
    return scale, zero, qmin, qmax


def affine_encode(x, scale, zero, qmin, qmax):
    t = x.dtype.type
    return np.clip(np.rint(x / t(scale)) + zero, qmin, qmax).astype(np.int32)


def affine_decode(q, scale, zero):
    return np.float32(scale) * (q - zero).astype(np.float32)


def prune_quantize(w, gamma, bits):
    """SPEC §1: beta = gamma std(W); H = W where |W| >= beta; q_k = (max|H| - beta)/(2^(b-1) - 1)."""
    beta = gamma * np.std(w.astype(np.float64))
    keep = np.abs(w) >= w.dtype.type(beta)
    h = np.where(keep, w, 0)
    max_h = float(np.max(np.abs(h)))
    top = 2 ** (bits - 1) - 1
    q_k = (max_h - beta) / top
    if not q_k > 0:
        q_k = max_h / top if max_h > 0 else 1.0
    symbols = np.where(keep, np.rint(w / w.dtype.type(q_k)), 0).astype(np.int32)
    return symbols, np.float32(q_k) * symbols.astype(np.float32), beta, q_k
