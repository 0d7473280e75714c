"""Affine fake quantization in torch, equal bit for bit to :class:`edgequant.quantizers.Affine`.

The arithmetic follows ``cpp/quant/affine.h`` step for step, so a weight fake-quantized here is
the float32 that ``Affine(bits, axis=0)(w)`` returns and that ``DequantizeLinear`` of the QDQ
export computes:

- range per output channel (axis 0) from the channel's min / max, in float64;
- symmetric: ``s = max(2·max|r| / (qmax − qmin), FLT_MIN)``, ``z = 0`` (signed codes), an
  all-zero channel ``s = 1``; asymmetric: the range widened to include 0,
  ``s = max((hi − lo) / (qmax − qmin), FLT_MIN)``, ``z = clamp(rint(qmin − lo / s))``;
- codes ``q = clamp(rint(w / float32(s)) + z, qmin, qmax)`` in float32, ``rint`` half to even
  (``torch.round``);
- reconstruction ``float32(s) · float32(q − z)``, saturated to ±FLT_MAX.

The backward pass is the straight-through estimator: the gradient of the fake-quantized weight
is passed to the float weight unchanged (the range covers every weight, so nothing is clipped).
"""

from __future__ import annotations

import numbers

import torch

_FLOAT32_MIN = float(torch.finfo(torch.float32).tiny)
_FLOAT32_MAX = float(torch.finfo(torch.float32).max)


def affine_code_range(bits, channels: int, name: str = "bits") -> tuple[torch.Tensor, torch.Tensor]:
    """float64 ``(qmin, qmax)`` per channel of signed b-bit codes (as ``AffineFormat``).

    ``bits`` is one integer in [2, 16] or one per output channel.
    """
    values = bits if isinstance(bits, list | tuple) else [bits]
    if any(isinstance(b, bool) or not isinstance(b, numbers.Integral) or not 2 <= b <= 16 for b in values):
        raise ValueError(f"{name} must be an integer in [2, 16] or a list of them, got {bits!r}")
    if len(values) not in (1, channels):
        raise ValueError(f"{name}: expected one bit width or {channels} (one per output channel), got {len(values)}")
    widths = torch.tensor([int(b) for b in values], dtype=torch.float64).expand(channels)
    return -torch.exp2(widths - 1), torch.exp2(widths - 1) - 1


def affine_parameters(weight: torch.Tensor, bits, symmetric: bool = True,
                      name: str = "weight") -> tuple[torch.Tensor, torch.Tensor]:
    """Per-output-channel (axis 0) float64 scales and zero points of ``weight`` (signed codes).

    ``bits``: one width, or a list with one per output channel (each channel is fitted alone
    anyway, so this equals quantizing every channel with its own ``Affine``).

    Raises
    ------
    ValueError
        NaN or Inf in ``weight`` (named by ``name``), an empty or 0-d tensor, bad ``bits``.
    """
    if weight.dim() == 0 or weight.numel() == 0:
        raise ValueError(f"{name}: fake quantization per output channel needs a non-empty tensor with an axis 0")
    qmin, qmax = (t.to(weight.device) for t in affine_code_range(bits, weight.shape[0], f"{name} bits"))
    rows = weight.detach().reshape(weight.shape[0], -1)
    low = rows.amin(dim=1).double()
    high = rows.amax(dim=1).double()
    if not bool(torch.isfinite(low).all() and torch.isfinite(high).all()):
        raise ValueError(f"{name} has NaN/Inf values (training diverged?)")
    span = qmax - qmin
    if symmetric:
        max_abs = torch.maximum(low.abs(), high.abs())
        scale = torch.where(max_abs > 0, torch.clamp(2.0 * max_abs / span, min=_FLOAT32_MIN),
                            torch.ones_like(max_abs))
        return scale, torch.zeros_like(scale)
    low, high = torch.clamp(low, max=0.0), torch.clamp(high, min=0.0)
    empty = (high - low) <= 0
    scale = torch.where(empty, torch.ones_like(low), torch.clamp((high - low) / span, min=_FLOAT32_MIN))
    zero = torch.minimum(torch.maximum(torch.round(qmin - low / scale), qmin), qmax)
    return scale, torch.where(empty, torch.zeros_like(zero), zero)


def affine_fake_quantize(weight: torch.Tensor, bits, symmetric: bool = True,
                         name: str = "weight") -> torch.Tensor:
    """``Affine(bits, symmetric, signed=True, axis=0)(weight)`` in torch ops, bit for bit.

    ``bits``: one width in [2, 16], or a list with one per output channel.

    A float32 tensor of ``weight``'s shape on its device. Differentiable with the straight-
    through estimator (the incoming gradient passes to ``weight`` unchanged).
    """
    return _StraightThrough.apply(weight, bits, symmetric, name)


def affine_codes(weight: torch.Tensor, bits, symmetric: bool = True,
                 name: str = "weight") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(codes int32, scales float32, zero points int32)`` per output channel, as ``Affine.encode``."""
    codes, scale, zero = _encode(weight.detach(), bits, symmetric, name)
    return codes.to(torch.int32), scale, zero.to(torch.int32)


def _encode(weight, bits, symmetric, name):
    scale64, zero64 = affine_parameters(weight, bits, symmetric, name)
    view = (-1,) + (1,) * (weight.dim() - 1)
    qmin, qmax = (t.to(weight.device, torch.float32).reshape(view)
                  for t in affine_code_range(bits, weight.shape[0]))
    # The C++ core computes in the input's precision: float64 weights against float64 s, all
    # others (float32, and float16/bfloat16 promoted) against float32(s).
    dtype = torch.float64 if weight.dtype == torch.float64 else torch.float32
    scale = scale64.to(dtype).reshape(view)
    zero = zero64.to(dtype).reshape(view)
    codes = torch.minimum(torch.maximum(torch.round(weight.to(dtype) / scale) + zero, qmin.to(dtype)), qmax.to(dtype))
    return codes.float(), scale64.to(torch.float32), zero64.to(torch.float32)


def _fake_quantize(weight, bits, symmetric, name):
    codes, scale, zero = _encode(weight, bits, symmetric, name)
    view = (-1,) + (1,) * (weight.dim() - 1)
    # float32(s) · float32(q − z): q − z is an exact small integer in float32.
    return torch.clamp(scale.reshape(view) * (codes - zero.reshape(view)), -_FLOAT32_MAX, _FLOAT32_MAX)


class _StraightThrough(torch.autograd.Function):
    @staticmethod
    def forward(ctx, weight, bits, symmetric, name):
        return _fake_quantize(weight.detach(), bits, symmetric, name)

    @staticmethod
    def backward(ctx, grad):
        return grad, None, None, None
