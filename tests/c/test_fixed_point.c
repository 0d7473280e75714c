/* The fixed-point helpers every kernel shares (eq_fixed_point.h, softmax's exp and reciprocal)
 * against values worked out by hand, and the requantization against eq_test_requantize's plain
 * 64-bit arithmetic over random and boundary operands. */
#include <stdio.h>
#include <stdlib.h>

#include "eq_test.h"

static void hand_worked(void) {
    eq_test_expect_i32("srdhm max*max", eq_saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN), INT32_MAX);
    eq_test_expect_i32("srdhm half*half", eq_saturating_rounding_doubling_high_mul(1 << 30, 1 << 30), 1 << 29);
    eq_test_expect_i32("srdhm tie up", eq_saturating_rounding_doubling_high_mul(1, 1 << 30), 1);
    /* gemmlowp's nudge rounds a negative tie toward zero: -0.5 -> 0 */
    eq_test_expect_i32("srdhm tie down", eq_saturating_rounding_doubling_high_mul(-1, 1 << 30), 0);
    eq_test_expect_i32("rdbp 5/2", eq_rounding_divide_by_pot(5, 1), 3);
    eq_test_expect_i32("rdbp -5/2", eq_rounding_divide_by_pot(-5, 1), -3);
    eq_test_expect_i32("rdbp 3/4", eq_rounding_divide_by_pot(3, 2), 1);
    eq_test_expect_i32("rdbp -3/4", eq_rounding_divide_by_pot(-3, 2), -1);
    eq_test_expect_i32("rdbp 0 shift", eq_rounding_divide_by_pot(-7, 0), -7);
    eq_test_expect_i32("rdbp min/2^31", eq_rounding_divide_by_pot(INT32_MIN, 31), -1);
    eq_test_expect_i32("sat shl", eq_saturating_left_shift(1 << 29, 2), INT32_MAX);
    eq_test_expect_i32("sat shl neg", eq_saturating_left_shift(-(1 << 29) - 1, 2), INT32_MIN);
    eq_test_expect_i32("sat shl ok", eq_saturating_left_shift(-3, 2), -12);
    /* 0.5 * 100 = 50; 0.75 * 2^1 * -7 = -10.5 -> -10 (the high mul's negative tie) */
    eq_test_expect_i32("mbqm half", eq_multiply_by_quantized_multiplier(100, 1 << 30, 0), 50);
    eq_test_expect_i32("mbqm left", eq_multiply_by_quantized_multiplier(-7, 3 << 29, 1), -10);
    eq_test_expect_i32("mbqm right", eq_multiply_by_quantized_multiplier(1000, 1 << 30, -3), 63);
    /* exp(0) = 1 saturated; exp(-1) in q0 ~ 0.3679 * 2^31; 1/(1+0) ~ 1 */
    eq_test_expect_i32("exp 0", eq_exp_on_negative_values(0), INT32_MAX);
    eq_test_check(labs((long)eq_exp_on_negative_values(-(1 << 26)) - 790015084L) <= 1000, "exp(-1)", 0);
    eq_test_check(labs((long)eq_one_over_one_plus_x(1 << 30) - 1431655765L) <= 8, "1/(1+0.5)", 0); /* 2/3 */
}

static void requantize_against_plain_arithmetic(void) {
    static const int32_t boundary[] = {0, 1, -1, 2, -2, 127, -128, 255, -256, 40000, -40000, (1 << 24) - 1,
                                       -(1 << 24), INT32_MAX / 8, INT32_MIN / 8};
    const int n = (int)(sizeof(boundary) / sizeof(boundary[0]));
    int c;
    for (c = 0; c < 20000; ++c) {
        const int32_t x = c < n ? boundary[c] : eq_test_random_in(-(1 << 24), 1 << 24);
        const int32_t multiplier = c % 3 == 0 ? (1 << 30) : (int32_t)((1u << 30) + (eq_test_random() % (1u << 30)));
        const int32_t shift = eq_test_random_in(-31, 3);
        const int32_t got = eq_multiply_by_quantized_multiplier(x, multiplier, shift);
        const int32_t want = eq_test_requantize(x, multiplier, shift);
        if (got != want) {
            printf("FAIL requantize x=%ld m=%ld shift=%ld: got %ld want %ld\n", (long)x, (long)multiplier, (long)shift,
                   (long)got, (long)want);
            eq_test_check(0, "requantize", c);
            return;
        }
    }
}

int main(void) {
    hand_worked();
    requantize_against_plain_arithmetic();
    return eq_test_finish();
}
