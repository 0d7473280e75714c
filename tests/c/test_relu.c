/* eq_relu_s8 against a reference written here from TFLite Micro's int8 ReLU (input offset, rescale to
 * the output grid, output offset, clamp at the output's code of 0) in plain 64-bit arithmetic
 * (eq_test_requantize): rescalings above and below one, zero points at the int8 limits, saturating
 * inputs, sizes 0, 1 and odd, the output written over the input, and hand-worked values. */
#include <string.h>

#include "eq_test.h"

#define MAX_SIZE 1024

static void reference(const eq_relu_params *p, const int8_t *src, int8_t *dst) {
    int32_t i;
    for (i = 0; i < p->size; ++i) {
        int32_t value = eq_test_requantize(src[i] + p->input_offset, p->multiplier, p->shift) + p->output_offset;
        value = value < p->activation_min ? p->activation_min : value;
        value = value > p->activation_max ? p->activation_max : value;
        dst[i] = (int8_t)value;
    }
}

static void hand_worked(void) {
    const int8_t values[4] = {-128, -3, 5, 127};
    int8_t out[4];
    eq_relu_params relu;
    /* the same grid (zero point -3): a multiplier of one, clamped at the code of 0 */
    memset(&relu, 0, sizeof(relu));
    relu.size = 4;
    relu.input_offset = 3;
    relu.output_offset = -3;
    relu.multiplier = 1 << 30;
    relu.shift = 1;
    relu.activation_min = -3;
    relu.activation_max = 127;
    eq_relu_s8(&relu, values, out);
    eq_test_expect_i32("relu -128", out[0], -3);
    eq_test_expect_i32("relu -3", out[1], -3);
    eq_test_expect_i32("relu 5", out[2], 5);
    eq_test_expect_i32("relu 127", out[3], 127);
}

int main(void) {
    static int8_t src[MAX_SIZE], got[MAX_SIZE + 16], want[MAX_SIZE + 16];
    int c;
    hand_worked();
    for (c = 0; c < 2000; ++c) {
        eq_relu_params p;
        memset(&p, 0, sizeof(p));
        p.size = c == 0 ? 0 : c % 9 == 1 ? 1 : eq_test_random_in(1, MAX_SIZE);
        p.input_offset = c % 5 == 1 ? 128 : c % 5 == 2 ? -127 : eq_test_random_in(-127, 128);
        p.output_offset = c % 5 == 3 ? -128 : c % 5 == 4 ? 127 : eq_test_random_in(-128, 127);
        p.multiplier = (int32_t)((1u << 30) + (eq_test_random() % (1u << 30)));
        p.shift = eq_test_random_in(-8, 2);
        p.activation_min = p.output_offset;
        p.activation_max = 127;
        eq_test_fill_s8(src, p.size, c % 7 == 0);
        memset(got, EQ_TEST_SENTINEL, sizeof(got));
        memset(want, EQ_TEST_SENTINEL, sizeof(want));
        reference(&p, src, want);
        if (c % 13 == 6) { /* in place */
            memcpy(got, src, (size_t)p.size);
            eq_relu_s8(&p, got, got);
        } else {
            eq_relu_s8(&p, src, got);
        }
        eq_test_expect_s8("relu", c, got, want, p.size + 16);
    }
    return eq_test_finish();
}
