/* eq_add_s8 against a reference written here from TFLite's int8 Add formula (each operand shifted
 * left by left_shift, rescaled, summed, rescaled to the output, offset, clamped) in plain 64-bit
 * arithmetic (eq_test_requantize): random rescalings in the exporter's ranges, zero points at the
 * int8 limits, saturating operands, sizes 0, 1 and odd, the same tensor as both operands, the output
 * written over an operand, and hand-worked sums. */
#include <string.h>

#include "eq_test.h"

#define MAX_SIZE 1024

static void reference(const eq_add_params *p, const int8_t *src1, const int8_t *src2, int8_t *dst) {
    int32_t i;
    for (i = 0; i < p->size; ++i) {
        const int32_t x1 = (p->input1_offset + src1[i]) * (1 << p->left_shift);
        const int32_t x2 = (p->input2_offset + src2[i]) * (1 << p->left_shift);
        const int32_t sum = eq_test_requantize(x1, p->input1_multiplier, p->input1_shift) +
                            eq_test_requantize(x2, p->input2_multiplier, p->input2_shift);
        int32_t value = eq_test_requantize(sum, p->output_multiplier, p->output_shift) + p->output_offset;
        value = value < p->activation_min ? p->activation_min : value;
        value = value > p->activation_max ? p->activation_max : value;
        dst[i] = (int8_t)value;
    }
}

static void hand_worked(void) {
    const int8_t values[8] = {1, 2, 3, 4, -5, -6, -7, -9};
    int8_t out[2];
    eq_add_params add;
    /* equal scales: each operand times 1/2, the sum times 2 / 2^20 => the plain sum */
    memset(&add, 0, sizeof(add));
    add.size = 2;
    add.left_shift = 20;
    add.input1_multiplier = add.input2_multiplier = 1 << 30;
    add.output_multiplier = 1 << 30;
    add.output_shift = -18;
    add.activation_min = -128;
    add.activation_max = 127;
    eq_add_s8(&add, values, values + 2, out);
    eq_test_expect_i32("add 1+3", out[0], 4);
    eq_test_expect_i32("add 2+4", out[1], 6);
    eq_add_s8(&add, values + 4, values + 6, out);
    eq_test_expect_i32("add -5-7", out[0], -12);
    eq_test_expect_i32("add -6-9", out[1], -15);
}

static int32_t random_offset(int case_id) {
    return case_id % 5 == 1 ? 128 : case_id % 5 == 2 ? -127 : eq_test_random_in(-127, 128);
}

int main(void) {
    static int8_t src1[MAX_SIZE], src2[MAX_SIZE], got[MAX_SIZE + 16], want[MAX_SIZE + 16];
    int c;
    hand_worked();
    for (c = 0; c < 2000; ++c) {
        eq_add_params p;
        const int same = c % 11 == 5, in_place = c % 13 == 6;
        const int8_t *second;
        memset(&p, 0, sizeof(p));
        p.size = c == 0 ? 0 : c % 9 == 1 ? 1 : eq_test_random_in(1, MAX_SIZE);
        p.left_shift = 20;
        p.input1_offset = random_offset(c);
        p.input2_offset = random_offset(c + 1);
        /* TFLite's rescalings: operands by s_i / (2 max s) <= 1/2, the sum by 2 max s / (2^20 s_out) */
        p.input1_multiplier = (int32_t)((1u << 30) + (eq_test_random() % (1u << 30)));
        p.input2_multiplier = c % 4 == 0 ? 1 << 30 : (int32_t)((1u << 30) + (eq_test_random() % (1u << 30)));
        p.input1_shift = c % 4 == 0 ? 0 : eq_test_random_in(-6, -1);
        p.input2_shift = c % 4 == 0 ? 0 : eq_test_random_in(-6, 0);
        p.output_multiplier = (int32_t)((1u << 30) + (eq_test_random() % (1u << 30)));
        p.output_shift = eq_test_random_in(-24, -16);
        p.output_offset = c % 5 == 1 ? -128 : c % 5 == 2 ? 127 : eq_test_random_in(-128, 127);
        p.activation_min = c % 3 ? -128 : eq_test_random_in(-128, 0);
        p.activation_max = c % 3 ? 127 : eq_test_random_in(0, 127);
        eq_test_fill_s8(src1, p.size, c % 7 == 0);
        eq_test_fill_s8(src2, p.size, c % 7 == 0);
        second = same ? src1 : src2;
        memset(got, EQ_TEST_SENTINEL, sizeof(got));
        memset(want, EQ_TEST_SENTINEL, sizeof(want));
        reference(&p, src1, second, want);
        if (in_place) { /* the output over the first operand: element-wise, so each value is read first */
            memcpy(got, src1, (size_t)p.size);
            eq_add_s8(&p, got, same ? got : second, got);
        } else {
            eq_add_s8(&p, src1, second, got);
        }
        eq_test_expect_s8("add", c, got, want, p.size + 16);
    }
    return eq_test_finish();
}
