/* The edge cases the convolution tests add to random windows, by case number: 1x1 filters, a 1x1
 * image, zero points at both int8 limits, saturating activation ranges. */
#ifndef WINDOW_CASES_H
#define WINDOW_CASES_H

#include "eq_test.h"

void window_edge_case(eq_window_params *p, int case_id);

typedef void (*eq_window_kernel)(const eq_window_params *params, const int32_t *multipliers, const int32_t *shifts,
                                 const int8_t *src, const int8_t *filter, const int32_t *bias, int8_t *dst);

/* `fast` against `ref` on 600 random windows (shapes, paddings, strides, dilations, zero points,
 * saturating inputs and weights, biases or none) with window_edge_case's cases and a zero-batch call
 * that must write nothing; returns eq_test_finish()'s status. depthwise: filters [h, w, channels]. */
int window_kernel_test(const char *name, int depthwise, eq_window_kernel fast, eq_window_kernel ref);

#endif /* WINDOW_CASES_H */
