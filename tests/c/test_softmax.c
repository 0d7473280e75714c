/* eq_softmax_s8 against softmax written here from its formula in double precision: with
 * x = (q - max q) * input_multiplier * 2^input_left_shift / 2^57 (the kernel's q5 input scaling),
 * p = exp(x) / sum exp(x) over the values with q - max q >= diff_min, output round(256 p) - 128
 * clamped (0 probability -> -128). TFLite's fixed-point exp and reciprocal are exact to within one
 * output step, so each value may differ by at most 1, and rows must still sum to about 1. Random
 * depths (1, odd, 256), input scalings, diff_min cutting values off or not, saturating logits,
 * zero rows, and hand-worked uniform rows. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "eq_test.h"

#define MAX_SIZE 2048

static void reference(const eq_softmax_params *p, const int8_t *src, int32_t *dst) {
    int32_t row, c;
    const double scale = (double)p->input_multiplier * ldexp(1.0, p->input_left_shift - 57);
    for (row = 0; row < p->rows; ++row) {
        const int8_t *in = src + row * p->depth;
        int32_t max_value = -128;
        double sum = 0.0;
        for (c = 0; c < p->depth; ++c) {
            max_value = in[c] > max_value ? in[c] : max_value;
        }
        for (c = 0; c < p->depth; ++c) {
            const int32_t diff = in[c] - max_value;
            sum += diff >= p->diff_min ? exp(diff * scale) : 0.0;
        }
        for (c = 0; c < p->depth; ++c) {
            const int32_t diff = in[c] - max_value;
            int32_t q = -128;
            if (diff >= p->diff_min) {
                q = (int32_t)floor(exp(diff * scale) / sum * 256.0 + 0.5) - 128;
                q = q > 127 ? 127 : q;
            }
            dst[row * p->depth + c] = q;
        }
    }
}

static void hand_worked(void) {
    const int8_t logits[4] = {10, 10, 10, 10};
    int8_t probabilities[4];
    eq_softmax_params soft;
    soft.rows = 1;
    soft.depth = 4;
    soft.input_multiplier = 1 << 30;
    soft.input_left_shift = 1;
    soft.diff_min = -2000000000;
    eq_softmax_s8(&soft, logits, probabilities);
    /* 1/4 each = 64/256 -> 64 - 128 */
    eq_test_expect_i32("softmax uniform", probabilities[0], -64);
    eq_test_expect_i32("softmax uniform last", probabilities[3], -64);
}

int main(void) {
    static int8_t src[MAX_SIZE], got[MAX_SIZE + 16];
    static int32_t want[MAX_SIZE];
    int c, worst = 0;
    hand_worked();
    for (c = 0; c < 1500; ++c) {
        eq_softmax_params p;
        int32_t i, n;
        p.rows = c == 0 ? 0 : eq_test_random_in(1, 4);
        p.depth = c % 10 == 1 ? 1 : c % 10 == 2 ? 256 : eq_test_random_in(2, 100);
        p.input_multiplier = (int32_t)((1u << 30) + (eq_test_random() % (1u << 30)));
        p.input_left_shift = eq_test_random_in(14, 24);
        /* TFLite's diff_min (CalculateInputRadius): -(2^5 - 1) * 2^26 / 2^input_left_shift */
        p.diff_min = -(int32_t)((31L << 26) >> p.input_left_shift);
        if (c % 4 == 3) { /* a tighter cut-off: more values get probability 0 */
            p.diff_min = -eq_test_random_in(0, 60);
        }
        n = p.rows * p.depth;
        eq_test_fill_s8(src, n, c % 7 == 0);
        memset(got, EQ_TEST_SENTINEL, sizeof(got));
        eq_softmax_s8(&p, src, got);
        reference(&p, src, want);
        for (i = 0; i < n; ++i) {
            const int32_t error = got[i] > want[i] ? got[i] - want[i] : want[i] - got[i];
            worst = error > worst ? error : worst;
            if (error > 1) {
                printf("FAIL softmax case %d index %ld: got %d want %ld (depth %ld, multiplier %ld, shift %ld)\n", c,
                       (long)i, got[i], (long)want[i], (long)p.depth, (long)p.input_multiplier,
                       (long)p.input_left_shift);
                eq_test_check(0, "softmax within one step of the formula", c);
                break;
            }
        }
        eq_test_check(got[n] == EQ_TEST_SENTINEL, "softmax wrote past its output", c);
    }
    printf("softmax: largest difference from the formula %d step(s)\n", worst);
    return eq_test_finish();
}
