#include "window_cases.h"

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
