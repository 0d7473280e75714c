/* FullyConnected on the Cortex-M DSP extension (see eq_dsp.h): two output rows per pass over the
 * input, both zero points added while widening (SXTAB16), two products per SMLAD. No scratch. */
#include "eq_dsp.h"

#if EQ_USE_DSP

#include "eq_fixed_point.h"
#include "eq_fully_connected.h"

static int8_t requantize(const eq_fully_connected_params *p, int32_t acc) {
    acc = eq_multiply_by_quantized_multiplier_fast(acc, p->multiplier, p->shift) + p->output_offset;
    return (int8_t)eq_clamp_i32(acc, p->activation_min, p->activation_max);
}

void eq_fully_connected_s8_dsp(const eq_fully_connected_params *p, const int8_t *src, const int8_t *weights,
                               const int32_t *bias, int8_t *dst) {
    const int32_t depth = p->input_depth;
    const uint32_t x_offset2 = eq_offset_pair(p->input_offset), w_offset2 = eq_offset_pair(p->filter_offset);
    int32_t b, o, i;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *input = src + b * depth;
        for (o = 0; o < p->output_depth; o += 2) {
            const int32_t rows = eq_min_i32(2, p->output_depth - o);
            const int8_t *x = input, *w0 = weights + o * depth, *w1 = w0 + (rows == 2 ? depth : 0);
            int32_t a0 = 0, a1 = 0;
            for (i = depth >> 2; i > 0; --i) {
                const uint32_t v = eq_load_u32(x), q0 = eq_load_u32(w0), q1 = eq_load_u32(w1);
                const uint32_t xe = eq_sxtab16(x_offset2, v), xo = eq_sxtab16_odd(x_offset2, v);
                a0 = eq_smlad(eq_sxtab16(w_offset2, q0), xe, a0);
                a0 = eq_smlad(eq_sxtab16_odd(w_offset2, q0), xo, a0);
                a1 = eq_smlad(eq_sxtab16(w_offset2, q1), xe, a1);
                a1 = eq_smlad(eq_sxtab16_odd(w_offset2, q1), xo, a1);
                x += 4;
                w0 += 4;
                w1 += 4;
            }
            for (i = depth & 3; i > 0; --i) {
                const int32_t xv = (int32_t)*x++ + p->input_offset;
                a0 += ((int32_t)*w0++ + p->filter_offset) * xv;
                a1 += ((int32_t)*w1++ + p->filter_offset) * xv;
            }
            if (bias) {
                a0 += bias[o];
                a1 += rows == 2 ? bias[o + 1] : 0;
            }
            *dst++ = requantize(p, a0);
            if (rows == 2) {
                *dst++ = requantize(p, a1);
            }
        }
    }
}

#else
typedef int eq_fully_connected_dsp_unused; /* ISO C wants a declaration in every translation unit */
#endif
