/* eq_depthwise_conv2d_s8 (the fast kernel) against eq_depthwise_conv2d_s8_ref (the formula) on random windows: shapes,
 * paddings, strides, dilations, depth multipliers, zero points, saturating inputs and weights,
 * biases or none, plus window_cases.h's edge cases and a zero-batch call that must write nothing. */
#include "window_cases.h"

int main(void) {
    return window_kernel_test("depthwise_conv2d", 1, eq_depthwise_conv2d_s8, eq_depthwise_conv2d_s8_ref);
}
