/* TensorFlow Lite's integer arithmetic, written once: the fixed-point helpers every int8 kernel
 * shares (gemmlowp's rounding conventions), so results are bit-exact with TFLite Micro's reference
 * kernels. Plain C99, header-only (static inline), usable from C++.
 *
 * Convention: a real multiplier M is stored as (multiplier, shift) with
 * M = multiplier * 2^(shift - 31), multiplier in [2^30, 2^31) (or 0). */
#ifndef EQ_FIXED_POINT_H
#define EQ_FIXED_POINT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

static inline int32_t eq_min_i32(int32_t a, int32_t b) { return a < b ? a : b; }
static inline int32_t eq_max_i32(int32_t a, int32_t b) { return a > b ? a : b; }
static inline int32_t eq_clamp_i32(int32_t x, int32_t lo, int32_t hi) { return eq_min_i32(eq_max_i32(x, lo), hi); }

/* round(a * b / 2^31) with ties away from zero, saturating the one overflow case (INT32_MIN^2). */
static inline int32_t eq_saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
    int64_t product;
    int64_t nudge;
    if (a == b && a == INT32_MIN) {
        return INT32_MAX;
    }
    product = (int64_t)a * (int64_t)b;
    nudge = product >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    /* C99 division truncates toward zero, as gemmlowp relies on */
    return (int32_t)((product + nudge) / ((int64_t)1 << 31));
}

/* x / 2^exponent rounded to nearest, ties away from zero (exponent in [0, 31]). */
static inline int32_t eq_rounding_divide_by_pot(int32_t x, int exponent) {
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    /* arithmetic right shift of a negative value: implementation-defined in C99, arithmetic on
     * every compiler we target (GCC, Clang, arm-none-eabi-gcc document it) */
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * 2^exponent for exponent > 0, saturating to the int32 range. */
static inline int32_t eq_saturating_left_shift(int32_t x, int exponent) {
    const int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

/* x * M for M = multiplier * 2^(shift - 31): TFLite's double-rounding MultiplyByQuantizedMultiplier. */
static inline int32_t eq_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift) {
    const int left_shift = shift > 0 ? (int)shift : 0;
    const int right_shift = shift > 0 ? 0 : (int)-shift;
    const int32_t shifted = (int32_t)((uint32_t)x << left_shift);
    return eq_rounding_divide_by_pot(eq_saturating_rounding_doubling_high_mul(shifted, multiplier), right_shift);
}

/* (product >> 31) saturated to int32: only product = 2^62 + 2^30 (INT32_MIN * INT32_MIN + nudge) is out
 * of range. On a DSP core a saturating QADD doubles the high word (the bit shifted in from the low word
 * cannot carry), as cheap as the plain shift. */
static inline int32_t eq_high_bits_saturated(int64_t product) {
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    const int32_t high = (int32_t)(product >> 32);
    int32_t doubled;
    __asm__("qadd %0, %1, %1" : "=r"(doubled) : "r"(high));
    return (int32_t)((uint32_t)doubled | ((uint32_t)product >> 31));
#else
    return product >= ((int64_t)1 << 62) ? INT32_MAX : (int32_t)(product >> 31);
#endif
}

/* The same value as eq_multiply_by_quantized_multiplier for every input, in fewer instructions (no
 * branch): the high multiply's (a*b + nudge) / 2^31 truncated toward zero equals
 * floor((a*b + 2^30) / 2^31) (for a*b < 0 truncation is a ceiling, and
 * ceil((n + 1 - 2^30) / 2^31) = floor((n + 2^30) / 2^31)): one SMLAL on Arm, then its high bits,
 * saturated for the one overflowing case (a = b = INT32_MIN); then the same rounding shift. */
static inline int32_t eq_multiply_by_quantized_multiplier_fast(int32_t x, int32_t multiplier, int32_t shift) {
    const int32_t left = shift & ~(shift >> 31); /* max(shift, 0), max(-shift, 0) without branches */
    const int32_t right = left - shift;
    const int64_t product = (int64_t)(int32_t)((uint32_t)x << left) * multiplier + ((int64_t)1 << 30);
    /* arithmetic shifts of negative values: see eq_rounding_divide_by_pot, whose rounding follows */
    const int32_t high = eq_high_bits_saturated(product);
    const int32_t mask = (int32_t)((1u << right) - 1u);
    return (high >> right) + ((high & mask) > (mask >> 1) - (high >> 31) ? 1 : 0);
}

/* The variant for multipliers >= 1 (softmax's input scaling): no rounding shift afterwards. */
static inline int32_t eq_multiply_by_quantized_multiplier_greater_than_one(int32_t x, int32_t multiplier,
                                                                           int32_t left_shift) {
    return eq_saturating_rounding_doubling_high_mul((int32_t)((uint32_t)x << left_shift), multiplier);
}

#ifdef __cplusplus
}
#endif

#endif /* EQ_FIXED_POINT_H */
