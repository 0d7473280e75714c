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
    """r̂ = s·(q − z) in float32, saturating to ±FLT_MAX (cpp/quant/convention.h)."""
    with np.errstate(over="ignore"):
        reconstruction = np.float32(scale) * (q - zero).astype(np.float32)
    finite_max = np.finfo(np.float32).max
    return np.clip(reconstruction, -finite_max, finite_max)


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


def minifloat_magnitudes(exponent_bits, mantissa_bits, bias, mode):
    """Values of the magnitude codes 0 … 2^(e+m) − 1 (float64; NaN for non-finite codes, Inf for IEEE's)."""
    codes = np.arange(2 ** (exponent_bits + mantissa_bits))
    exponent, mantissa = codes >> mantissa_bits, codes & (2**mantissa_bits - 1)
    fraction = mantissa / 2.0**mantissa_bits
    if mode == "paper":  # normal numbers only
        return np.ldexp(1.0 + fraction, exponent - bias)
    values = np.where(exponent == 0, np.ldexp(fraction, 1 - bias), np.ldexp(1.0 + fraction, exponent - bias))
    top = exponent == 2**exponent_bits - 1
    if mode == "ieee":
        values = np.where(top & (mantissa == 0), np.inf, np.where(top, np.nan, values))
    else:  # fn: only the all-ones code is NaN
        values = np.where(codes == codes[-1], np.nan, values)
    return values


def minifloat_encode(x, exponent_bits, mantissa_bits, bias, mode):
    """Nearest value, ties to the even code; paper: ±0 positive, saturating; ieee: overflow to Inf at
    max + ulp/2; fn: saturating. Finite and ±Inf inputs (NaN is refused or propagates)."""
    values = minifloat_magnitudes(exponent_bits, mantissa_bits, bias, mode)
    finite = np.flatnonzero(np.isfinite(values))
    levels = values[finite]
    a = np.abs(x.astype(np.float64))
    above = np.clip(np.searchsorted(levels, a), 1, len(levels) - 1)
    below = above - 1
    d_low, d_high = a - levels[below], levels[above] - a
    take_high = (d_high < d_low) | ((d_high == d_low) & (finite[above] % 2 == 0))
    magnitude = np.where(a >= levels[-1], finite[-1], np.where(a <= levels[0], finite[0],
                                                               np.where(take_high, finite[above], finite[below])))
    if mode == "ieee":  # the next binade's first code is Inf; |x| >= max + ulp/2 rounds to it
        ulp = levels[-1] - levels[-2]
        overflow = a >= levels[-1] + ulp / 2
        magnitude = np.where(overflow, finite[-1] + 1, magnitude)
    negative = (x < 0) if mode == "paper" else np.signbit(x)
    return (negative.astype(np.int64) << (exponent_bits + mantissa_bits) | magnitude).astype(np.int32)


def minifloat_decode(q, exponent_bits, mantissa_bits, bias, mode):
    values = minifloat_magnitudes(exponent_bits, mantissa_bits, bias, mode)
    magnitude = values[q & (2 ** (exponent_bits + mantissa_bits) - 1)]
    return np.where(q >> (exponent_bits + mantissa_bits) & 1, -magnitude, magnitude).astype(np.float32)


def power_of_two_exponents(bits, zero):
    return 2 ** (bits - 1) - (1 if zero else 0)


def power_of_two_encode(x, bits, xmax=1.0, zero=True):
    """|q| = K + round(log2(|x|/xmax)) with geometric-mean boundaries B_j = fl(xmax·√2)·2^(j−K), ties up;
    below B_0: 0 (or 1 without a zero level); clipped to K."""
    exponents = power_of_two_exponents(bits, zero)
    boundaries = np.ldexp(np.float64(xmax) * np.sqrt(2.0), np.arange(exponents) - exponents)
    magnitude = np.searchsorted(boundaries, np.abs(x.astype(np.float64)), side="right")
    if not zero:
        magnitude = np.maximum(magnitude, 1)
    return np.where(x < 0, -magnitude, magnitude).astype(np.int32)


def power_of_two_decode(q, bits, xmax=1.0, zero=True):
    exponents = power_of_two_exponents(bits, zero)
    magnitude = np.where(q == 0, 0.0, np.ldexp(np.float64(xmax), np.abs(q) - exponents)).astype(np.float32)
    return np.where(q < 0, -magnitude, magnitude)


# --- the registry-wide test's entry point: one reference per registered family ---------------

def _resolved_xmax(quantizer, x):
    return float(np.max(np.abs(x))) if quantizer.xmax == "max" else quantizer.xmax


def _range_reference(encode, decode, *names):
    def reference(quantizer, x):
        params = {name: getattr(quantizer, name) for name in names}
        params["xmax"] = _resolved_xmax(quantizer, x)
        symbols = encode(x, quantizer.levels, **params)
        return symbols, decode(symbols, quantizer.levels, **params)
    return reference


def _power_of_two_reference(quantizer, x):
    params = {"xmax": _resolved_xmax(quantizer, x), "zero": quantizer.zero}
    symbols = power_of_two_encode(x, quantizer.bits, **params)
    return symbols, power_of_two_decode(symbols, quantizer.bits, **params)


def _affine_reference(quantizer, x):
    moved = x.reshape(1, -1) if quantizer.axis is None else np.moveaxis(x, quantizer.axis, 0)
    symbols = np.empty(moved.shape, np.int32)
    reconstruction = np.empty(moved.shape, np.float32)
    for c in range(moved.shape[0]):
        channel = moved[c]
        scale, zero, qmin, qmax = affine_params(float(channel.min()), float(channel.max()), quantizer.bits,
                                                quantizer.symmetric, quantizer.signed)
        symbols[c] = affine_encode(channel, scale, zero, qmin, qmax)
        reconstruction[c] = affine_decode(symbols[c], scale, zero)
    if quantizer.axis is None:
        return symbols.reshape(x.shape), reconstruction.reshape(x.shape)
    return np.moveaxis(symbols, 0, quantizer.axis), np.moveaxis(reconstruction, 0, quantizer.axis)


def _prune_reference(quantizer, x):
    symbols, reconstruction, _, _ = prune_quantize(x.reshape(-1), quantizer.gamma, quantizer.bits)
    return symbols.reshape(x.shape), reconstruction.reshape(x.shape)


def _minifloat_reference(quantizer, x):
    format_ = (quantizer.exponent_bits, quantizer.mantissa_bits, quantizer.bias, quantizer.mode)
    symbols = minifloat_encode(x, *format_)
    return symbols, minifloat_decode(symbols, *format_)


#: name -> reference(quantizer, x) -> (symbols, reconstruction), computed from the quantizer's
#: parameters only (ranges, scales and steps are fitted here, from x). test_every_quantizer.py
#: fails for a registered family that has none.
REFERENCES = {
    "midtread": _range_reference(midtread_encode, midtread_decode),
    "midrise": _range_reference(midrise_encode, midrise_decode),
    "deadzone": _range_reference(deadzone_encode, deadzone_decode, "delta"),
    "mulaw": _range_reference(mulaw_encode, mulaw_decode, "mu"),
    "affine": _affine_reference,
    "prune_quantize": _prune_reference,
    "minifloat": _minifloat_reference,
    "power_of_two": _power_of_two_reference,
}
