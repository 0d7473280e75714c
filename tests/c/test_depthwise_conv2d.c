/* eq_depthwise_conv2d_s8 (the fast kernel) against eq_depthwise_conv2d_s8_ref (the formula) on random windows: shapes,
 * paddings, strides, dilations, depth multipliers, zero points, saturating inputs and weights,
 * biases or none, plus window_cases.h's edge cases and a zero-batch call that must write nothing. */
#include <string.h>

#include "eq_test.h"
#include "window_cases.h"

#define MAX_TENSOR 4096

int main(void) {
    static int8_t src[MAX_TENSOR], filter[MAX_TENSOR], got[MAX_TENSOR], want[MAX_TENSOR];
    static int32_t multipliers[64], shifts[64], bias[64];
    int c;
    for (c = 0; c < 600; ++c) {
        eq_window_params p;
        int32_t out_size;
        eq_test_random_window(&p, 1);
        window_edge_case(&p, c);
        if (c == 0) {
            p.batches = 0; /* nothing to compute: the output stays untouched */
        }
        out_size = p.batches * p.output_height * p.output_width * p.output_channels;
        eq_test_fill_s8(src, p.batches * p.input_height * p.input_width * p.input_channels, c % 7 == 0);
        eq_test_fill_s8(filter, p.filter_height * p.filter_width * p.output_channels * (1 ? 1 : p.input_channels),
                        c % 5 == 0);
        eq_test_random_requantization(multipliers, shifts, bias, p.output_channels);
        memset(got, EQ_TEST_SENTINEL, sizeof(got));
        memset(want, EQ_TEST_SENTINEL, sizeof(want));
        eq_depthwise_conv2d_s8(&p, multipliers, shifts, src, filter, c % 3 ? bias : NULL, got);
        eq_depthwise_conv2d_s8_ref(&p, multipliers, shifts, src, filter, c % 3 ? bias : NULL, want);
        eq_test_expect_s8("depthwise_conv2d", c, got, want, out_size + 16);
        eq_test_check(got[out_size] == EQ_TEST_SENTINEL, "depthwise_conv2d wrote past its output", c);
    }
    return eq_test_finish();
}
