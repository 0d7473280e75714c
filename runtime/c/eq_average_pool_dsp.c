/* AveragePool on the Cortex-M DSP extension (see eq_dsp.h): four channels per word, their window sums
 * kept in 16-bit lanes (SXTAB16 widens and adds in one instruction; a window of at most 256 int8
 * values cannot overflow a lane), then the same rounding division as the portable kernel. No scratch. */
#include "eq_dsp.h"

#if EQ_USE_DSP

#include "eq_fixed_point.h"
#include "eq_pooling.h"

static int8_t average(int32_t sum, int32_t count, int32_t lo, int32_t hi) {
    sum = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
    return (int8_t)eq_clamp_i32(sum, lo, hi);
}

void eq_average_pool_s8_dsp(const eq_window_params *p, const int8_t *src, int8_t *dst) {
    const int32_t channels = p->input_channels, image_row = p->input_width * channels;
    const int32_t lo = p->activation_min, hi = p->activation_max;
    int32_t b, oy, ox, c, ky, kx;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *image = src + b * p->input_height * image_row;
        for (oy = 0; oy < p->output_height; ++oy) {
            const int32_t y0 = oy * p->stride_height - p->padding_top;
            const int32_t ky_begin = eq_max_i32(0, -y0), ky_end = eq_min_i32(p->filter_height, p->input_height - y0);
            for (ox = 0; ox < p->output_width; ++ox) {
                const int32_t x0 = ox * p->stride_width - p->padding_left;
                const int32_t kx_begin = eq_max_i32(0, -x0), kx_end = eq_min_i32(p->filter_width, p->input_width - x0);
                const int32_t count = (ky_end - ky_begin) * (kx_end - kx_begin); /* > 0: the exporter checks */
                const int8_t *corner = image + (y0 + ky_begin) * image_row + (x0 + kx_begin) * channels;
                for (c = 0; c < channels; c += 4) {
                    uint32_t even = 0, odd = 0; /* lanes: channels c, c + 2 and c + 1, c + 3 */
                    for (ky = ky_end - ky_begin; ky > 0; --ky) {
                        const int8_t *x = corner + (ky_end - ky_begin - ky) * image_row + c;
                        for (kx = kx_end - kx_begin; kx > 0; --kx, x += channels) {
                            const uint32_t v = eq_load_u32(x);
                            even = eq_sxtab16(even, v);
                            odd = eq_sxtab16_odd(odd, v);
                        }
                    }
                    *dst++ = average((int16_t)(even & 0xFFFFu), count, lo, hi);
                    *dst++ = average((int16_t)(odd & 0xFFFFu), count, lo, hi);
                    *dst++ = average((int16_t)(even >> 16), count, lo, hi);
                    *dst++ = average((int16_t)(odd >> 16), count, lo, hi);
                }
            }
        }
    }
}

#else
typedef int eq_average_pool_dsp_unused; /* ISO C wants a declaration in every translation unit */
#endif
