/* eq_fully_connected_s8 (the fast kernel) against eq_fully_connected_s8_ref (the formula): random
 * depths (odd ones, 1, and above the unrolled width), batches, zero points and filter offsets at the
 * int8 limits, saturating values, biases or none, and a zero-batch call that must write nothing. */
#include <string.h>

#include "eq_test.h"

#define MAX_TENSOR 4096

int main(void) {
    static int8_t src[MAX_TENSOR], weights[MAX_TENSOR], got[256], want[256];
    static int32_t bias[64];
    int c;
    for (c = 0; c < 600; ++c) {
        eq_fully_connected_params p;
        int32_t i, out_size;
        p.batches = c == 0 ? 0 : eq_test_random_in(1, 3);
        p.input_depth = c % 9 == 1 ? 1 : eq_test_random_in(1, 67);
        p.output_depth = c % 9 == 2 ? 1 : eq_test_random_in(1, 50);
        p.input_offset = c % 6 == 3 ? 128 : c % 6 == 4 ? -127 : eq_test_random_in(-127, 128);
        p.filter_offset = c % 4 ? 0 : (c % 8 ? eq_test_random_in(-10, 10) : 128);
        p.output_offset = c % 6 == 3 ? -128 : c % 6 == 4 ? 127 : eq_test_random_in(-128, 127);
        p.multiplier = (int32_t)((1u << 30) + (eq_test_random() % (1u << 30)));
        p.shift = eq_test_random_in(-14, 1);
        p.activation_min = eq_test_random_in(-128, 0);
        p.activation_max = eq_test_random_in(0, 127);
        if (p.filter_offset == 128) { /* 256 * 256 * depth: keep the sum within int32 as the exporter does */
            p.input_depth = eq_test_random_in(1, 20);
            p.shift = eq_test_random_in(-20, -8);
        }
        out_size = p.batches * p.output_depth;
        eq_test_fill_s8(src, p.batches * p.input_depth, c % 7 == 0);
        eq_test_fill_s8(weights, p.output_depth * p.input_depth, c % 5 == 0);
        for (i = 0; i < p.output_depth; ++i) {
            bias[i] = eq_test_random_in(-40000, 40000);
        }
        memset(got, EQ_TEST_SENTINEL, sizeof(got));
        memset(want, EQ_TEST_SENTINEL, sizeof(want));
        eq_fully_connected_s8(&p, src, weights, c % 3 ? bias : NULL, got);
        eq_fully_connected_s8_ref(&p, src, weights, c % 3 ? bias : NULL, want);
        eq_test_expect_s8("fully_connected", c, got, want, (int32_t)sizeof(got));
        eq_test_check(got[out_size] == EQ_TEST_SENTINEL, "fully_connected wrote past its output", c);
    }
    return eq_test_finish();
}
