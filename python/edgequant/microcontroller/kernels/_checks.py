"""Helpers of the kernels' shapes rules: a refusal with its reason, and the int8 / int32 range facts
several kernels share (offsets that are minus a zero point, requantization that stays in int32)."""

from __future__ import annotations

INT32_MAX = 2**31 - 1


class Refusal(Exception):
    """One reason a layer cannot be run exactly and safely; collected by ``validation.validate_graph``."""


def require(condition, reason: str) -> None:
    """Raise :class:`Refusal` with ``reason`` unless ``condition``."""
    if not condition:
        raise Refusal(reason)


def check_offsets(p, input_key="input_offset") -> None:
    """The input offset is minus an int8 zero point, the output offset one, the activation range in int8."""
    require(-127 <= p[input_key] <= 128, f"{input_key} {p[input_key]} is not minus an int8 zero point")
    require(-128 <= p["output_offset"] <= 127, f"output_offset {p['output_offset']} is not an int8 zero point")
    require(-128 <= p["activation_min"] <= p["activation_max"] <= 127,
            f"activation range [{p['activation_min']}, {p['activation_max']}] is not within int8")


def max_input_term(offset: int) -> int:
    """The largest |q + offset| over int8 q."""
    return max(abs(-128 + offset), abs(127 + offset))


def check_requantize(bound: int, multiplier: int, shift: int, what: str) -> None:
    """``eq_multiply_by_quantized_multiplier(acc, m, s) + output_offset`` stays in int32 for |acc| <= bound."""
    require(0 <= multiplier <= INT32_MAX and -31 <= shift <= 30, f"{what}: multiplier {multiplier}, shift {shift}")
    shifted = bound << max(shift, 0)
    require(shifted <= INT32_MAX, f"{what}: sums up to {bound:,} overflow int32 when scaled by 2^{shift}")
    require(shifted * multiplier // 2**31 + 1 + 128 <= INT32_MAX, f"{what}: the requantized sum overflows int32")
