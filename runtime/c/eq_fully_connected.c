#include "eq_fully_connected.h"

#include "eq_dsp.h"
#include "eq_fixed_point.h"

static int8_t requantize(const eq_fully_connected_params *p, int32_t acc) {
    acc = eq_multiply_by_quantized_multiplier(acc, p->multiplier, p->shift) + p->output_offset;
    return (int8_t)eq_clamp_i32(acc, p->activation_min, p->activation_max);
}

void eq_fully_connected_s8_ref(const eq_fully_connected_params *p, const int8_t *src, const int8_t *weights,
                               const int32_t *bias, int8_t *dst) {
    int32_t b, o, i;
    for (b = 0; b < p->batches; ++b) {
        for (o = 0; o < p->output_depth; ++o) {
            int32_t acc = 0;
            for (i = 0; i < p->input_depth; ++i) {
                acc += ((int32_t)weights[o * p->input_depth + i] + p->filter_offset) *
                       ((int32_t)src[b * p->input_depth + i] + p->input_offset);
            }
            if (bias) {
                acc += bias[o];
            }
            dst[b * p->output_depth + o] = requantize(p, acc);
        }
    }
}

/* Four partial sums per row (integer addition is exact, so the order does not change the result):
 * the unrolled shape a dot-product instruction replaces. */
void eq_fully_connected_s8(const eq_fully_connected_params *p, const int8_t *src, const int8_t *weights,
                           const int32_t *bias, int8_t *dst) {
#if EQ_USE_DSP
    eq_fully_connected_s8_dsp(p, src, weights, bias, dst);
    return;
#endif
    const int32_t depth = p->input_depth;
    int32_t b, o, i;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *x = src + b * depth;
        for (o = 0; o < p->output_depth; ++o) {
            const int8_t *w = weights + o * depth;
            int32_t acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0;
            for (i = 0; i + 4 <= depth; i += 4) {
                acc0 += ((int32_t)w[i] + p->filter_offset) * ((int32_t)x[i] + p->input_offset);
                acc1 += ((int32_t)w[i + 1] + p->filter_offset) * ((int32_t)x[i + 1] + p->input_offset);
                acc2 += ((int32_t)w[i + 2] + p->filter_offset) * ((int32_t)x[i + 2] + p->input_offset);
                acc3 += ((int32_t)w[i + 3] + p->filter_offset) * ((int32_t)x[i + 3] + p->input_offset);
            }
            for (; i < depth; ++i) {
                acc0 += ((int32_t)w[i] + p->filter_offset) * ((int32_t)x[i] + p->input_offset);
            }
            acc0 += acc1 + acc2 + acc3;
            if (bias) {
                acc0 += bias[o];
            }
            *dst++ = requantize(p, acc0);
        }
    }
}
