#include "eq_conv2d.h"

#include "eq_dsp.h"
#include "eq_fixed_point.h"

static int8_t requantize(const eq_window_params *p, int32_t acc, int32_t multiplier, int32_t shift) {
    acc = eq_multiply_by_quantized_multiplier(acc, multiplier, shift) + p->output_offset;
    return (int8_t)eq_clamp_i32(acc, p->activation_min, p->activation_max);
}

void eq_conv2d_s8_ref(const eq_window_params *p, const int32_t *multipliers, const int32_t *shifts,
                      const int8_t *src, const int8_t *filter, const int32_t *bias, int8_t *dst) {
    int32_t b, oy, ox, oc, ky, kx, ic;
    for (b = 0; b < p->batches; ++b) {
        for (oy = 0; oy < p->output_height; ++oy) {
            for (ox = 0; ox < p->output_width; ++ox) {
                for (oc = 0; oc < p->output_channels; ++oc) {
                    int32_t acc = 0;
                    for (ky = 0; ky < p->filter_height; ++ky) {
                        const int32_t iy = oy * p->stride_height - p->padding_top + ky * p->dilation_height;
                        for (kx = 0; kx < p->filter_width; ++kx) {
                            const int32_t ix = ox * p->stride_width - p->padding_left + kx * p->dilation_width;
                            if (iy < 0 || iy >= p->input_height || ix < 0 || ix >= p->input_width) {
                                continue;
                            }
                            for (ic = 0; ic < p->input_channels; ++ic) {
                                const int32_t x = src[((b * p->input_height + iy) * p->input_width + ix) *
                                                          p->input_channels + ic];
                                const int32_t w = filter[((oc * p->filter_height + ky) * p->filter_width + kx) *
                                                             p->input_channels + ic];
                                acc += w * (x + p->input_offset);
                            }
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

/* The same sums; the bounds test runs once per tap instead of once per tap and channel, and the
 * channel loop walks contiguous pointers (the shape a SIMD version replaces). */
void eq_conv2d_s8(const eq_window_params *p, const int32_t *multipliers, const int32_t *shifts,
                  const int8_t *src, const int8_t *filter, const int32_t *bias, int8_t *dst) {
#if EQ_USE_DSP
    eq_conv2d_s8_dsp(p, multipliers, shifts, src, filter, bias, dst);
    return;
#endif
    const int32_t channels = p->input_channels;
    const int32_t filter_row = p->filter_width * channels;
    const int32_t filter_size = p->filter_height * filter_row;
    int32_t b, oy, ox, oc, ky, kx, ic;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *image = src + b * p->input_height * p->input_width * channels;
        for (oy = 0; oy < p->output_height; ++oy) {
            const int32_t y0 = oy * p->stride_height - p->padding_top;
            for (ox = 0; ox < p->output_width; ++ox) {
                const int32_t x0 = ox * p->stride_width - p->padding_left;
                for (oc = 0; oc < p->output_channels; ++oc) {
                    const int8_t *weights = filter + oc * filter_size;
                    int32_t acc = 0;
                    for (ky = 0; ky < p->filter_height; ++ky) {
                        const int32_t iy = y0 + ky * p->dilation_height;
                        if (iy < 0 || iy >= p->input_height) {
                            continue;
                        }
                        for (kx = 0; kx < p->filter_width; ++kx) {
                            const int32_t ix = x0 + kx * p->dilation_width;
                            const int8_t *pixel;
                            const int8_t *tap;
                            if (ix < 0 || ix >= p->input_width) {
                                continue;
                            }
                            pixel = image + (iy * p->input_width + ix) * channels;
                            tap = weights + ky * filter_row + kx * channels;
                            for (ic = 0; ic < channels; ++ic) {
                                acc += (int32_t)tap[ic] * ((int32_t)pixel[ic] + p->input_offset);
                            }
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
