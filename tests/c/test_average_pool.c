/* eq_average_pool_s8 against a reference written here from the formula (the mean over the taps inside the input, rounded half away from zero (TFLite's rule), clamped): random windows the
 * exporter accepts (pool_cases.h), 1x1 and whole-image windows, saturating inputs, narrow activation
 * ranges, a zero-batch call that must write nothing, and hand-worked values. */
#include <string.h>

#include "eq_test.h"
#include "pool_cases.h"

#define MAX_TENSOR 4096

static void reference(const eq_window_params *p, const int8_t *src, int8_t *dst) {
    int32_t b, oy, ox, c, ky, kx;
    for (b = 0; b < p->batches; ++b) {
        for (oy = 0; oy < p->output_height; ++oy) {
            for (ox = 0; ox < p->output_width; ++ox) {
                for (c = 0; c < p->input_channels; ++c) {
                    int32_t value = 0;
                    int32_t sum = 0, count = 0;
                    for (ky = 0; ky < p->filter_height; ++ky) {
                        for (kx = 0; kx < p->filter_width; ++kx) {
                            const int32_t y = oy * p->stride_height - p->padding_top + ky;
                            const int32_t x = ox * p->stride_width - p->padding_left + kx;
                            if (y >= 0 && y < p->input_height && x >= 0 && x < p->input_width) {
                                sum += src[((b * p->input_height + y) * p->input_width + x) * p->input_channels + c];
                                ++count;
                            }
                        }
                    }
                    /* |sum| / count rounded half up, with the sign put back: ties away from zero */
                    value = (2 * (sum < 0 ? -sum : sum) + count) / (2 * count);
                    value = sum < 0 ? -value : value;
                    if (value < p->activation_min) {
                        value = p->activation_min;
                    }
                    if (value > p->activation_max) {
                        value = p->activation_max;
                    }
                    dst[((b * p->output_height + oy) * p->output_width + ox) * p->input_channels + c] = (int8_t)value;
                }
            }
        }
    }
}

static void hand_worked(void) {
    const int8_t image[8] = {1, 2, 3, 4, -5, -6, -7, -9}; /* 2x2, 2 channels */
    int8_t out[2];
    eq_window_params p;
    memset(&p, 0, sizeof(p));
    p.batches = 1;
    p.input_height = p.input_width = 2;
    p.input_channels = p.output_channels = 2;
    p.output_height = p.output_width = 1;
    p.filter_height = p.filter_width = 2;
    p.stride_height = p.stride_width = 2;
    p.activation_min = -128;
    p.activation_max = 127;
    eq_average_pool_s8(&p, image, out);
    /* (1+3-5-7)/4 = -2; (2+4-6-9)/4 = -2.25 -> -2 */
    eq_test_expect_i32("average_pool c0", out[0], -2);
    eq_test_expect_i32("average_pool c1", out[1], -2);
}

int main(void) {
    static int8_t src[MAX_TENSOR], got[MAX_TENSOR], want[MAX_TENSOR];
    int c;
    hand_worked();
    for (c = 0; c < 600; ++c) {
        eq_window_params p;
        int32_t out_size;
        random_pool_window(&p, c);
        if (c == 0) {
            p.batches = 0;
        }
        out_size = p.batches * p.output_height * p.output_width * p.output_channels;
        eq_test_fill_s8(src, p.batches * p.input_height * p.input_width * p.input_channels, c % 7 == 0);
        memset(got, EQ_TEST_SENTINEL, sizeof(got));
        memset(want, EQ_TEST_SENTINEL, sizeof(want));
        eq_average_pool_s8(&p, src, got);
        reference(&p, src, want);
        eq_test_expect_s8("average_pool", c, got, want, out_size + 16);
    }
    return eq_test_finish();
}
