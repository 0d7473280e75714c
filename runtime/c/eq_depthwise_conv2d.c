#include "eq_depthwise_conv2d.h"

#include "eq_dsp.h"
#include "eq_fixed_point.h"

static int8_t requantize(const eq_window_params *p, int32_t acc, int32_t multiplier, int32_t shift) {
    acc = eq_multiply_by_quantized_multiplier(acc, multiplier, shift) + p->output_offset;
    return (int8_t)eq_clamp_i32(acc, p->activation_min, p->activation_max);
}

void eq_depthwise_conv2d_s8_ref(const eq_window_params *p, const int32_t *multipliers, const int32_t *shifts,
                                const int8_t *src, const int8_t *filter, const int32_t *bias, int8_t *dst) {
    int32_t b, oy, ox, ic, m, ky, kx;
    for (b = 0; b < p->batches; ++b) {
        for (oy = 0; oy < p->output_height; ++oy) {
            for (ox = 0; ox < p->output_width; ++ox) {
                for (ic = 0; ic < p->input_channels; ++ic) {
                    for (m = 0; m < p->depth_multiplier; ++m) {
                        const int32_t oc = ic * p->depth_multiplier + m;
                        int32_t acc = 0;
                        for (ky = 0; ky < p->filter_height; ++ky) {
                            for (kx = 0; kx < p->filter_width; ++kx) {
                                const int32_t iy = oy * p->stride_height - p->padding_top + ky * p->dilation_height;
                                const int32_t ix = ox * p->stride_width - p->padding_left + kx * p->dilation_width;
                                int32_t x, w;
                                if (iy < 0 || iy >= p->input_height || ix < 0 || ix >= p->input_width) {
                                    continue;
                                }
                                x = src[((b * p->input_height + iy) * p->input_width + ix) * p->input_channels + ic];
                                w = filter[(ky * p->filter_width + kx) * p->output_channels + oc];
                                acc += w * (x + p->input_offset);
                            }
                        }
                        if (bias) {
                            acc += bias[oc];
                        }
                        dst[((b * p->output_height + oy) * p->output_width + ox) * p->output_channels + oc] =
                            requantize(p, acc, multipliers[oc], shifts[oc]);
                    }
                }
            }
        }
    }
}

/* The tap window is clipped once per output pixel, then every channel walks it. */
void eq_depthwise_conv2d_s8(const eq_window_params *p, const int32_t *multipliers, const int32_t *shifts,
                            const int8_t *src, const int8_t *filter, const int32_t *bias, int8_t *dst) {
#if EQ_USE_DSP
    if (p->depth_multiplier == 1) {
        eq_depthwise_conv2d_s8_dsp(p, multipliers, shifts, src, filter, bias, dst);
        return;
    }
#endif
    int32_t b, oy, ox, oc, ky, kx;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *image = src + b * p->input_height * p->input_width * p->input_channels;
        for (oy = 0; oy < p->output_height; ++oy) {
            const int32_t y0 = oy * p->stride_height - p->padding_top;
            int32_t ky_begin = 0, ky_end = p->filter_height;
            while (ky_begin < ky_end && y0 + ky_begin * p->dilation_height < 0) {
                ++ky_begin;
            }
            while (ky_end > ky_begin && y0 + (ky_end - 1) * p->dilation_height >= p->input_height) {
                --ky_end;
            }
            for (ox = 0; ox < p->output_width; ++ox) {
                const int32_t x0 = ox * p->stride_width - p->padding_left;
                int32_t kx_begin = 0, kx_end = p->filter_width;
                while (kx_begin < kx_end && x0 + kx_begin * p->dilation_width < 0) {
                    ++kx_begin;
                }
                while (kx_end > kx_begin && x0 + (kx_end - 1) * p->dilation_width >= p->input_width) {
                    --kx_end;
                }
                for (oc = 0; oc < p->output_channels; ++oc) {
                    const int32_t ic = oc / p->depth_multiplier;
                    int32_t acc = 0;
                    for (ky = ky_begin; ky < ky_end; ++ky) {
                        const int8_t *row = image + (y0 + ky * p->dilation_height) * p->input_width * p->input_channels;
                        const int8_t *taps = filter + ky * p->filter_width * p->output_channels + oc;
                        for (kx = kx_begin; kx < kx_end; ++kx) {
                            const int32_t x = row[(x0 + kx * p->dilation_width) * p->input_channels + ic];
                            acc += (int32_t)taps[kx * p->output_channels] * (x + p->input_offset);
                        }
                    }
                    if (bias) {
                        acc += bias[oc];
                    }
                    *dst++ = requantize(p, acc, multipliers[oc], shifts[oc]);
                }
            }
        }
    }
}
