#include "pool_cases.h"

#include <string.h>

/* the most outputs whose last window still starts inside the input: (out - 1) * stride - padding < input */
static int32_t outputs_covering(int32_t input, int32_t stride, int32_t padding) {
    return (input + padding - 1) / stride + 1;
}

void random_pool_window(eq_window_params *p, int case_id) {
    memset(p, 0, sizeof(*p));
    p->batches = eq_test_random_in(1, 2);
    p->input_height = eq_test_random_in(1, 9);
    p->input_width = eq_test_random_in(1, 9);
    p->input_channels = p->output_channels = eq_test_random_in(1, 6);
    p->filter_height = eq_test_random_in(1, 4);
    p->filter_width = eq_test_random_in(1, 4);
    p->stride_height = eq_test_random_in(1, 3);
    p->stride_width = eq_test_random_in(1, 3);
    p->dilation_height = p->dilation_width = 1;
    p->depth_multiplier = 1;
    switch (case_id % 4) {
    case 1: /* 1x1 window: a copy (then the clamp) */
        p->filter_height = p->filter_width = 1;
        break;
    case 2: /* one window over the whole image (global pooling) */
        p->filter_height = p->input_height;
        p->filter_width = p->input_width;
        break;
    default:
        break;
    }
    p->padding_top = eq_test_random_in(0, p->filter_height - 1);
    p->padding_left = eq_test_random_in(0, p->filter_width - 1);
    p->output_height = eq_test_random_in(1, outputs_covering(p->input_height, p->stride_height, p->padding_top));
    p->output_width = eq_test_random_in(1, outputs_covering(p->input_width, p->stride_width, p->padding_left));
    p->activation_min = case_id % 4 == 3 ? eq_test_random_in(-20, 0) : -128;
    p->activation_max = case_id % 4 == 3 ? eq_test_random_in(0, 20) : 127;
}
