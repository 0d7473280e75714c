/* Cortex-M DSP-extension (Armv7E-M: Cortex-M4/M7/M33) building blocks for the int8 kernels.
 *
 * The fast kernels switch to their *_dsp versions at compile time when the target has the DSP
 * instructions (__ARM_FEATURE_DSP) unless built with -DEQ_PORTABLE; the portable C kernels and the
 * plain *_ref references stay the same on every target. The DSP versions do the same integer sums
 * (exact, so the order is free) and call the same requantization (eq_fixed_point.h), so they are
 * bit-exact with the references. Two int8 products per SMLAD: SXTB16 spreads bytes 0 and 2 (or, after
 * a rotation by 8, bytes 1 and 3) of a word into two 16-bit lanes, SXTAB16 does the same and adds the
 * zero-point offset to both lanes. Input and weights are split the same way, so the lanes pair up
 * without repacking. */
#ifndef EQ_DSP_H
#define EQ_DSP_H

#include <stdint.h>
#include <string.h>

#include "eq_shapes.h"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && !defined(EQ_PORTABLE)
#define EQ_USE_DSP 1
#else
#define EQ_USE_DSP 0
#endif

#ifdef __cplusplus
extern "C" {
#endif

#if EQ_USE_DSP

/* Four int8 values as one word; the M4 loads unaligned words (memcpy compiles to one LDR). */
static inline uint32_t eq_load_u32(const int8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Both 16-bit lanes of a word set to the zero-point offset (|offset| <= 256, so x + offset fits). */
static inline uint32_t eq_offset_pair(int32_t offset) { return ((uint32_t)offset & 0xFFFFu) * 0x10001u; }

/* bytes 0 and 2 of v, sign-extended into the two 16-bit lanes */
static inline uint32_t eq_sxtb16(uint32_t v) {
    uint32_t r;
    __asm__ volatile("sxtb16 %0, %1" : "=r"(r) : "r"(v));
    return r;
}

/* bytes 1 and 3 of v, sign-extended into the two 16-bit lanes */
static inline uint32_t eq_sxtb16_odd(uint32_t v) {
    uint32_t r;
    __asm__ volatile("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

/* bytes 0 and 2 of v, sign-extended, plus the lanes of pair */
static inline uint32_t eq_sxtab16(uint32_t pair, uint32_t v) {
    uint32_t r;
    __asm__ volatile("sxtab16 %0, %1, %2" : "=r"(r) : "r"(pair), "r"(v));
    return r;
}

/* bytes 1 and 3 of v, sign-extended, plus the lanes of pair */
static inline uint32_t eq_sxtab16_odd(uint32_t pair, uint32_t v) {
    uint32_t r;
    __asm__ volatile("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(pair), "r"(v));
    return r;
}

/* acc + lo(a) * lo(b) + hi(a) * hi(b), lanes signed 16-bit */
static inline int32_t eq_smlad(uint32_t a, uint32_t b, int32_t acc) {
    int32_t r;
    __asm__ volatile("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* v saturated to [-128, 127] */
static inline int32_t eq_ssat8(int32_t v) {
    int32_t r;
    __asm__ volatile("ssat %0, #8, %1" : "=r"(r) : "r"(v));
    return r;
}

/* acc + lo(a) * lo(b) */
static inline int32_t eq_smlabb(uint32_t a, uint32_t b, int32_t acc) {
    int32_t r;
    __asm__ volatile("smlabb %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* acc + hi(a) * hi(b) */
static inline int32_t eq_smlatt(uint32_t a, uint32_t b, int32_t acc) {
    int32_t r;
    __asm__ volatile("smlatt %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

void eq_conv2d_s8_dsp(const eq_window_params *params, const int32_t *multipliers, const int32_t *shifts,
                      const int8_t *src, const int8_t *filter, const int32_t *bias, int8_t *dst);
void eq_depthwise_conv2d_s8_dsp(const eq_window_params *params, const int32_t *multipliers, const int32_t *shifts,
                                const int8_t *src, const int8_t *filter, const int32_t *bias, int8_t *dst);
void eq_average_pool_s8_dsp(const eq_window_params *params, const int8_t *src, int8_t *dst);
void eq_fully_connected_s8_dsp(const eq_fully_connected_params *params, const int8_t *src, const int8_t *weights,
                               const int32_t *bias, int8_t *dst);

#endif /* EQ_USE_DSP */

#ifdef __cplusplus
}
#endif

#endif /* EQ_DSP_H */
