/* DepthwiseConv2D (depth multiplier 1) on the Cortex-M DSP extension (see eq_dsp.h): four channels
 * per word, each with its own accumulator (SMLABB / SMLATT on the widened lanes), the tap window
 * clipped once per output pixel. Other depth multipliers take the portable kernel. No scratch. */
#include "eq_dsp.h"

#if EQ_USE_DSP

#include "eq_depthwise_conv2d.h"
#include "eq_fixed_point.h"

static int8_t requantize(const eq_window_params *p, int32_t acc, int32_t multiplier, int32_t shift) {
    acc = eq_multiply_by_quantized_multiplier_fast(acc, multiplier, shift) + p->output_offset;
    return (int8_t)eq_clamp_i32(acc, p->activation_min, p->activation_max);
}

static void clip_taps(int32_t origin, int32_t step, int32_t size, int32_t limit, int32_t *begin, int32_t *end) {
    int32_t b = 0, e = size;
    while (b < e && origin + b * step < 0) {
        ++b;
    }
    while (e > b && origin + (e - 1) * step >= limit) {
        --e;
    }
    *begin = b;
    *end = e;
}

/* one tap for four channels: a_k += w[k] * (x[k] + offset) */
#define MAC4(x_at, w_at)                                                                       \
    do {                                                                                       \
        const uint32_t v_ = eq_load_u32(x_at), q_ = eq_load_u32(w_at);                         \
        const uint32_t xe_ = eq_sxtab16(offset2, v_), xo_ = eq_sxtab16_odd(offset2, v_);       \
        const uint32_t we_ = eq_sxtb16(q_), wo_ = eq_sxtb16_odd(q_);                           \
        a0 = eq_smlabb(we_, xe_, a0);                                                          \
        a2 = eq_smlatt(we_, xe_, a2);                                                          \
        a1 = eq_smlabb(wo_, xo_, a1);                                                          \
        a3 = eq_smlatt(wo_, xo_, a3);                                                          \
    } while (0)

void eq_depthwise_conv2d_s8_dsp(const eq_window_params *p, const int32_t *multipliers, const int32_t *shifts,
                                const int8_t *src, const int8_t *filter, const int32_t *bias, int8_t *dst) {
    const int32_t channels = p->input_channels; /* == output channels: depth multiplier 1 */
    const int32_t image_row = p->input_width * channels;
    const int32_t pixel_step = p->dilation_width * channels;
    const int32_t offset = p->input_offset;
    const uint32_t offset2 = eq_offset_pair(offset);
    /* locals: the int8 stores may alias *p as far as the compiler knows */
    const int32_t output_offset = p->output_offset, lo = p->activation_min, hi = p->activation_max;
    const int32_t full_range = lo == -128 && hi == 127; /* then one SSAT clamps */
    const int32_t x_row_step = p->dilation_height * image_row, w_row_step = p->filter_width * channels;
    int32_t b, oy, ox, c, kx;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *image = src + b * p->input_height * image_row;
        for (oy = 0; oy < p->output_height; ++oy) {
            const int32_t y0 = oy * p->stride_height - p->padding_top;
            int32_t ky_begin, ky_end;
            clip_taps(y0, p->dilation_height, p->filter_height, p->input_height, &ky_begin, &ky_end);
            for (ox = 0; ox < p->output_width; ++ox) {
                const int32_t x0 = ox * p->stride_width - p->padding_left;
                const int8_t *origin = image + x0 * channels;
                int32_t kx_begin, kx_end, rows, cols;
                const int8_t *x_start, *w_start;
                clip_taps(x0, p->dilation_width, p->filter_width, p->input_width, &kx_begin, &kx_end);
                /* the clipped window: rows x cols taps from these corners, rows row_step apart */
                rows = ky_end - ky_begin;
                cols = kx_end - kx_begin;
                x_start = origin + (y0 + ky_begin * p->dilation_height) * image_row + kx_begin * pixel_step;
                w_start = filter + (ky_begin * p->filter_width + kx_begin) * channels;
                for (c = 0; c + 4 <= channels; c += 4) {
                    const int8_t *x = x_start + c, *w = w_start + c;
                    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, r;
                    if (bias) {
                        a0 = bias[c];
                        a1 = bias[c + 1];
                        a2 = bias[c + 2];
                        a3 = bias[c + 3];
                    }
                    for (r = rows; r > 0; --r) {
                        if (cols == 3) { /* a 3-wide row without padding: fixed offsets, no loop */
                            MAC4(x, w);
                            MAC4(x + pixel_step, w + channels);
                            MAC4(x + 2 * pixel_step, w + 2 * channels);
                        } else {
                            const int8_t *xt = x, *wt = w;
                            for (kx = cols; kx > 0; --kx) {
                                MAC4(xt, wt);
                                xt += pixel_step;
                                wt += channels;
                            }
                        }
                        x += x_row_step;
                        w += w_row_step;
                    }
                    a0 = eq_multiply_by_quantized_multiplier_fast(a0, multipliers[c], shifts[c]) + output_offset;
                    a1 = eq_multiply_by_quantized_multiplier_fast(a1, multipliers[c + 1], shifts[c + 1]) + output_offset;
                    a2 = eq_multiply_by_quantized_multiplier_fast(a2, multipliers[c + 2], shifts[c + 2]) + output_offset;
                    a3 = eq_multiply_by_quantized_multiplier_fast(a3, multipliers[c + 3], shifts[c + 3]) + output_offset;
                    if (full_range) {
                        dst[0] = (int8_t)eq_ssat8(a0);
                        dst[1] = (int8_t)eq_ssat8(a1);
                        dst[2] = (int8_t)eq_ssat8(a2);
                        dst[3] = (int8_t)eq_ssat8(a3);
                    } else {
                        dst[0] = (int8_t)eq_clamp_i32(a0, lo, hi);
                        dst[1] = (int8_t)eq_clamp_i32(a1, lo, hi);
                        dst[2] = (int8_t)eq_clamp_i32(a2, lo, hi);
                        dst[3] = (int8_t)eq_clamp_i32(a3, lo, hi);
                    }
                    dst += 4;
                }
                for (; c < channels; ++c) {
                    const int8_t *x = x_start + c, *w = w_start + c;
                    int32_t acc = bias ? bias[c] : 0, r;
                    for (r = rows; r > 0; --r) {
                        for (kx = 0; kx < cols; ++kx) {
                            acc += (int32_t)w[kx * channels] * ((int32_t)x[kx * pixel_step] + offset);
                        }
                        x += x_row_step;
                        w += w_row_step;
                    }
                    *dst++ = requantize(p, acc, multipliers[c], shifts[c]);
                }
            }
        }
    }
}

#else
typedef int eq_depthwise_conv2d_dsp_unused; /* ISO C wants a declaration in every translation unit */
#endif
