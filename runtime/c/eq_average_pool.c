#include "eq_dsp.h"
#include "eq_fixed_point.h"
#include "eq_pooling.h"

void eq_average_pool_s8(const eq_window_params *p, const int8_t *src, int8_t *dst) {
#if EQ_USE_DSP
    /* 16-bit lane sums: at most 256 values per window */
    if (p->input_channels % 4 == 0 && p->filter_height * p->filter_width <= 256) {
        eq_average_pool_s8_dsp(p, src, dst);
        return;
    }
#endif
    int32_t b, oy, ox, c, ky, kx;
    for (b = 0; b < p->batches; ++b) {
        for (oy = 0; oy < p->output_height; ++oy) {
            const int32_t y0 = oy * p->stride_height - p->padding_top;
            const int32_t ky_begin = eq_max_i32(0, -y0);
            const int32_t ky_end = eq_min_i32(p->filter_height, p->input_height - y0);
            for (ox = 0; ox < p->output_width; ++ox) {
                const int32_t x0 = ox * p->stride_width - p->padding_left;
                const int32_t kx_begin = eq_max_i32(0, -x0);
                const int32_t kx_end = eq_min_i32(p->filter_width, p->input_width - x0);
                for (c = 0; c < p->input_channels; ++c) {
                    int32_t sum = 0, count = 0;
                    for (ky = ky_begin; ky < ky_end; ++ky) {
                        for (kx = kx_begin; kx < kx_end; ++kx) {
                            sum += src[((b * p->input_height + y0 + ky) * p->input_width + x0 + kx) *
                                           p->input_channels + c];
                            ++count;
                        }
                    }
                    /* the exporter rejects windows that can be empty */
                    if (count > 0) {
                        sum = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                    }
                    dst[((b * p->output_height + oy) * p->output_width + ox) * p->input_channels + c] =
                        (int8_t)eq_clamp_i32(sum, p->activation_min, p->activation_max);
                }
            }
        }
    }
}
