/* eq_conv2d_s8 (the fast kernel) against eq_conv2d_s8_ref (the formula) on random windows: shapes,
 * paddings, strides, dilations, zero points, saturating inputs and weights,
 * biases or none, plus window_cases.h's edge cases and a zero-batch call that must write nothing. */
#include "window_cases.h"

int main(void) {
    return window_kernel_test("conv2d", 0, eq_conv2d_s8, eq_conv2d_s8_ref);
}
