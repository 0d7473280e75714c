#include "window_cases.h"

#include <stdio.h>
#include <string.h>

void window_edge_case(eq_window_params *p, int case_id) {
    switch (case_id % 6) {
    case 1: /* pointwise: 1x1 filter, stride 1, no padding */
        p->filter_height = p->filter_width = 1;
        p->stride_height = p->stride_width = 1;
        p->padding_top = p->padding_left = 0;
        p->output_height = p->input_height;
        p->output_width = p->input_width;
        break;
    case 2: /* a 1x1 image: every tap but the centre is padding */
        p->input_height = p->input_width = 1;
        p->output_height = p->output_width = 1;
        break;
    case 3: /* input zero point -128, output zero point -128, full range */
        p->input_offset = 128;
        p->output_offset = -128;
        p->activation_min = -128;
        p->activation_max = 127;
        break;
    case 4: /* input zero point 127, output zero point 127, a one-value range */
        p->input_offset = -127;
        p->output_offset = 127;
        p->activation_min = p->activation_max = eq_test_random_in(-128, 127);
        break;
    default:
        break;
    }
}

#define MAX_TENSOR 4096

int window_kernel_test(const char *name, int depthwise, eq_window_kernel fast, eq_window_kernel ref) {
    static int8_t src[MAX_TENSOR], filter[MAX_TENSOR], got[MAX_TENSOR], want[MAX_TENSOR];
    static int32_t multipliers[64], shifts[64], bias[64];
    char overflow[96];
    int c;
    for (c = 0; c < 600; ++c) {
        eq_window_params p;
        int32_t out_size;
        eq_test_random_window(&p, depthwise);
        window_edge_case(&p, c);
        if (c == 0) {
            p.batches = 0; /* nothing to compute: the output stays untouched */
        }
        out_size = p.batches * p.output_height * p.output_width * p.output_channels;
        eq_test_fill_s8(src, p.batches * p.input_height * p.input_width * p.input_channels, c % 7 == 0);
        eq_test_fill_s8(filter, p.filter_height * p.filter_width * p.output_channels * (depthwise ? 1 : p.input_channels),
                        c % 5 == 0);
        eq_test_random_requantization(multipliers, shifts, bias, p.output_channels);
        memset(got, EQ_TEST_SENTINEL, sizeof(got));
        memset(want, EQ_TEST_SENTINEL, sizeof(want));
        fast(&p, multipliers, shifts, src, filter, c % 3 ? bias : NULL, got);
        ref(&p, multipliers, shifts, src, filter, c % 3 ? bias : NULL, want);
        eq_test_expect_s8(name, c, got, want, out_size + 16);
        sprintf(overflow, "%.60s wrote past its output", name);
        eq_test_check(got[out_size] == EQ_TEST_SENTINEL, overflow, c);
    }
    return eq_test_finish();
}
