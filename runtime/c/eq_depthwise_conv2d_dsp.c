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

void eq_depthwise_conv2d_s8_dsp(const eq_window_params *p, const int32_t *multipliers, const int32_t *shifts,
                                const int8_t *src, const int8_t *filter, const int32_t *bias, int8_t *dst) {
    const int32_t channels = p->input_channels; /* == output channels: depth multiplier 1 */
    const int32_t image_row = p->input_width * channels;
    const int32_t pixel_step = p->dilation_width * channels;
    const int32_t offset = p->input_offset;
    const uint32_t offset2 = eq_offset_pair(offset);
    int32_t b, oy, ox, c, ky, kx;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *image = src + b * p->input_height * image_row;
        for (oy = 0; oy < p->output_height; ++oy) {
            const int32_t y0 = oy * p->stride_height - p->padding_top;
            int32_t ky_begin, ky_end;
            clip_taps(y0, p->dilation_height, p->filter_height, p->input_height, &ky_begin, &ky_end);
            for (ox = 0; ox < p->output_width; ++ox) {
                const int32_t x0 = ox * p->stride_width - p->padding_left;
                const int8_t *origin = image + x0 * channels;
                int32_t kx_begin, kx_end;
                clip_taps(x0, p->dilation_width, p->filter_width, p->input_width, &kx_begin, &kx_end);
                for (c = 0; c + 4 <= channels; c += 4) {
                    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                    for (ky = ky_begin; ky < ky_end; ++ky) {
                        const int8_t *x = origin + (y0 + ky * p->dilation_height) * image_row + kx_begin * pixel_step + c;
                        const int8_t *w = filter + (ky * p->filter_width + kx_begin) * channels + c;
                        for (kx = kx_end - kx_begin; kx > 0; --kx) {
                            const uint32_t v = eq_load_u32(x), q = eq_load_u32(w);
                            const uint32_t xe = eq_sxtab16(offset2, v), xo = eq_sxtab16_odd(offset2, v);
                            const uint32_t we = eq_sxtb16(q), wo = eq_sxtb16_odd(q);
                            a0 = eq_smlabb(we, xe, a0);
                            a2 = eq_smlatt(we, xe, a2);
                            a1 = eq_smlabb(wo, xo, a1);
                            a3 = eq_smlatt(wo, xo, a3);
                            x += pixel_step;
                            w += channels;
                        }
                    }
                    if (bias) {
                        a0 += bias[c];
                        a1 += bias[c + 1];
                        a2 += bias[c + 2];
                        a3 += bias[c + 3];
                    }
                    *dst++ = requantize(p, a0, multipliers[c], shifts[c]);
                    *dst++ = requantize(p, a1, multipliers[c + 1], shifts[c + 1]);
                    *dst++ = requantize(p, a2, multipliers[c + 2], shifts[c + 2]);
                    *dst++ = requantize(p, a3, multipliers[c + 3], shifts[c + 3]);
                }
                for (; c < channels; ++c) {
                    int32_t acc = 0;
                    for (ky = ky_begin; ky < ky_end; ++ky) {
                        const int8_t *x = origin + (y0 + ky * p->dilation_height) * image_row + kx_begin * pixel_step + c;
                        const int8_t *w = filter + (ky * p->filter_width + kx_begin) * channels + c;
                        for (kx = kx_end - kx_begin; kx > 0; --kx) {
                            acc += (int32_t)*w * ((int32_t)*x + offset);
                            x += pixel_step;
                            w += channels;
                        }
                    }
                    if (bias) {
                        acc += bias[c];
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
