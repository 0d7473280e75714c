/* Fast kernels against their plain references, and the fixed-point helpers against values worked
 * out by hand. Built and run by tests/python/microcontroller/test_c_kernels.py (-std=c99 -Werror,
 * with and without sanitizers). Prints one line per failure with the case and the first differing
 * index; exit status = number of failed checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgequant_runtime.h"

static int failures = 0;
static uint32_t rng_state = 12345u;

static uint32_t next_random(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static int32_t random_in(int32_t lo, int32_t hi) { return lo + (int32_t)(next_random() % (uint32_t)(hi - lo + 1)); }

static void fill_s8(int8_t *x, int32_t n, int extreme) {
    int32_t i;
    for (i = 0; i < n; ++i) {
        x[i] = (int8_t)(extreme ? ((next_random() & 1u) ? 127 : -128) : random_in(-128, 127));
    }
}

static void expect_equal_s8(const char *what, int case_id, const int8_t *got, const int8_t *want, int32_t n) {
    int32_t i;
    for (i = 0; i < n; ++i) {
        if (got[i] != want[i]) {
            printf("FAIL %s case %d: index %ld got %d (0x%02x) want %d (0x%02x)\n", what, case_id, (long)i, got[i],
                   (unsigned)(uint8_t)got[i], want[i], (unsigned)(uint8_t)want[i]);
            ++failures;
            return;
        }
    }
}

static void expect_i32(const char *what, int32_t got, int32_t want) {
    if (got != want) {
        printf("FAIL %s: got %ld want %ld\n", what, (long)got, (long)want);
        ++failures;
    }
}

static void test_fixed_point(void) {
    expect_i32("srdhm max*max", eq_saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN), INT32_MAX);
    expect_i32("srdhm half*half", eq_saturating_rounding_doubling_high_mul(1 << 30, 1 << 30), 1 << 29);
    expect_i32("srdhm tie up", eq_saturating_rounding_doubling_high_mul(1, 1 << 30), 1);
    /* gemmlowp's nudge rounds a negative tie toward zero: -0.5 -> 0 */
    expect_i32("srdhm tie down", eq_saturating_rounding_doubling_high_mul(-1, 1 << 30), 0);
    expect_i32("rdbp 5/2", eq_rounding_divide_by_pot(5, 1), 3);
    expect_i32("rdbp -5/2", eq_rounding_divide_by_pot(-5, 1), -3);
    expect_i32("rdbp 3/4", eq_rounding_divide_by_pot(3, 2), 1);
    expect_i32("rdbp -3/4", eq_rounding_divide_by_pot(-3, 2), -1);
    expect_i32("rdbp 0 shift", eq_rounding_divide_by_pot(-7, 0), -7);
    expect_i32("rdbp min/2^31", eq_rounding_divide_by_pot(INT32_MIN, 31), -1);
    expect_i32("sat shl", eq_saturating_left_shift(1 << 29, 2), INT32_MAX);
    expect_i32("sat shl neg", eq_saturating_left_shift(-(1 << 29) - 1, 2), INT32_MIN);
    expect_i32("sat shl ok", eq_saturating_left_shift(-3, 2), -12);
    /* 0.5 * 100 = 50; 0.75 * 2^1 * -7 = -10.5 -> -10 (the high mul's negative tie) */
    expect_i32("mbqm half", eq_multiply_by_quantized_multiplier(100, 1 << 30, 0), 50);
    expect_i32("mbqm left", eq_multiply_by_quantized_multiplier(-7, 3 << 29, 1), -10);
    expect_i32("mbqm right", eq_multiply_by_quantized_multiplier(1000, 1 << 30, -3), 63);
    /* exp(0) = 1 saturated; exp(-1) in q0 ~ 0.3679 * 2^31; 1/(1+0) ~ 1 */
    expect_i32("exp 0", eq_exp_on_negative_values(0), INT32_MAX);
    if (labs((long)eq_exp_on_negative_values(-(1 << 26)) - 790015084L) > 1000) { /* series error ~3e-7 */
        printf("FAIL exp(-1): %ld\n", (long)eq_exp_on_negative_values(-(1 << 26)));
        ++failures;
    }
    if (labs((long)eq_one_over_one_plus_x(1 << 30) - 1431655765L) > 8) { /* 1/1.5 = 2/3 */
        printf("FAIL 1/(1+0.5): %ld\n", (long)eq_one_over_one_plus_x(1 << 30));
        ++failures;
    }
}

#define MAX_TENSOR 4096

static void random_window(eq_window_params *p, int depthwise) {
    memset(p, 0, sizeof(*p));
    p->batches = random_in(1, 2);
    p->input_height = random_in(1, 9);
    p->input_width = random_in(1, 9);
    p->input_channels = random_in(1, depthwise ? 6 : 5);
    p->filter_height = random_in(1, 4);
    p->filter_width = random_in(1, 4);
    p->stride_height = random_in(1, 3);
    p->stride_width = random_in(1, 3);
    p->dilation_height = random_in(1, 2);
    p->dilation_width = random_in(1, 2);
    p->padding_top = random_in(0, p->filter_height - 1);
    p->padding_left = random_in(0, p->filter_width - 1);
    p->depth_multiplier = depthwise ? random_in(1, 3) : 1;
    p->output_channels = depthwise ? p->input_channels * p->depth_multiplier : random_in(1, 6);
    p->output_height = random_in(1, 6);
    p->output_width = random_in(1, 6);
    p->input_offset = random_in(-127, 128);
    p->output_offset = random_in(-128, 127);
    p->activation_min = random_in(-128, 0);
    p->activation_max = random_in(0, 127);
}

static void random_requantization(int32_t *multipliers, int32_t *shifts, int32_t *bias, int32_t channels) {
    int32_t i;
    for (i = 0; i < channels; ++i) {
        multipliers[i] = (int32_t)((1u << 30) + (next_random() % (1u << 30)));
        shifts[i] = random_in(-12, 2);
        bias[i] = random_in(-40000, 40000);
    }
}

static void test_windows(int depthwise) {
    static int8_t src[MAX_TENSOR], filter[MAX_TENSOR], got[MAX_TENSOR], want[MAX_TENSOR];
    static int32_t multipliers[64], shifts[64], bias[64];
    int c;
    for (c = 0; c < 400; ++c) {
        eq_window_params p;
        int32_t out_size;
        random_window(&p, depthwise);
        out_size = p.batches * p.output_height * p.output_width * p.output_channels;
        fill_s8(src, p.batches * p.input_height * p.input_width * p.input_channels, c % 7 == 0);
        fill_s8(filter, p.filter_height * p.filter_width * p.output_channels * (depthwise ? 1 : p.input_channels),
                c % 5 == 0);
        random_requantization(multipliers, shifts, bias, p.output_channels);
        memset(got, 0x55, sizeof(got));  /* sentinel */
        memset(want, 0x55, sizeof(want));
        if (depthwise) {
            eq_depthwise_conv2d_s8(&p, multipliers, shifts, src, filter, c % 3 ? bias : NULL, got);
            eq_depthwise_conv2d_s8_ref(&p, multipliers, shifts, src, filter, c % 3 ? bias : NULL, want);
        } else {
            eq_conv2d_s8(&p, multipliers, shifts, src, filter, c % 3 ? bias : NULL, got);
            eq_conv2d_s8_ref(&p, multipliers, shifts, src, filter, c % 3 ? bias : NULL, want);
        }
        expect_equal_s8(depthwise ? "depthwise_conv2d" : "conv2d", c, got, want, out_size + 16);
    }
}

static void test_fully_connected(void) {
    static int8_t src[MAX_TENSOR], weights[MAX_TENSOR], got[256], want[256];
    static int32_t bias[64];
    int c;
    for (c = 0; c < 400; ++c) {
        eq_fully_connected_params p;
        int32_t i;
        p.batches = random_in(1, 3);
        p.input_depth = random_in(1, 67);
        p.output_depth = random_in(1, 50);
        p.input_offset = random_in(-127, 128);
        p.filter_offset = c % 4 ? 0 : random_in(-10, 10);
        p.output_offset = random_in(-128, 127);
        p.multiplier = (int32_t)((1u << 30) + (next_random() % (1u << 30)));
        p.shift = random_in(-14, 1);
        p.activation_min = random_in(-128, 0);
        p.activation_max = random_in(0, 127);
        fill_s8(src, p.batches * p.input_depth, c % 7 == 0);
        fill_s8(weights, p.output_depth * p.input_depth, c % 5 == 0);
        for (i = 0; i < p.output_depth; ++i) {
            bias[i] = random_in(-40000, 40000);
        }
        memset(got, 0x55, sizeof(got));
        memset(want, 0x55, sizeof(want));
        eq_fully_connected_s8(&p, src, weights, c % 3 ? bias : NULL, got);
        eq_fully_connected_s8_ref(&p, src, weights, c % 3 ? bias : NULL, want);
        expect_equal_s8("fully_connected", c, got, want, (int32_t)sizeof(got));
    }
}

/* Pooling, Add and Softmax are their own references: check a few values worked out by hand. */
static void test_plain_kernels(void) {
    const int8_t image[8] = {1, 2, 3, 4, -5, -6, -7, -9}; /* 2x2, 2 channels */
    int8_t out[4];
    eq_window_params p;
    eq_add_params add;
    eq_softmax_params soft;
    const int8_t logits[4] = {10, 10, 10, 10};
    int8_t probabilities[4];
    memset(&p, 0, sizeof(p));
    p.batches = 1;
    p.input_height = p.input_width = 2;
    p.input_channels = 2;
    p.output_height = p.output_width = 1;
    p.output_channels = 2;
    p.filter_height = p.filter_width = 2;
    p.stride_height = p.stride_width = 2;
    p.activation_min = -128;
    p.activation_max = 127;
    eq_average_pool_s8(&p, image, out);
    /* (1+3-5-7)/4 = -2; (2+4-6-9)/4 = -2.25 -> -2 */
    expect_i32("avgpool c0", out[0], -2);
    expect_i32("avgpool c1", out[1], -2);
    eq_max_pool_s8(&p, image, out);
    expect_i32("maxpool c0", out[0], 3);
    expect_i32("maxpool c1", out[1], 4);
    /* add with equal scales: multipliers 1/2, output 2 / 2^20 => plain sum */
    memset(&add, 0, sizeof(add));
    add.size = 2;
    add.left_shift = 20;
    add.input1_multiplier = add.input2_multiplier = 1 << 30;
    add.input1_shift = add.input2_shift = 0;
    add.output_multiplier = 1 << 30;
    add.output_shift = -18;
    add.activation_min = -128;
    add.activation_max = 127;
    eq_add_s8(&add, image, image + 2, out);
    expect_i32("add 1+3", out[0], 4);
    expect_i32("add 2+4", out[1], 6);
    eq_add_s8(&add, image + 4, image + 6, out); /* -5-7, -6-9 */
    expect_i32("add -12", out[0], -12);
    expect_i32("add -15", out[1], -15);
    /* uniform logits -> 1/4 each = 64/256 -> q = 64 - 128 = -64 */
    soft.rows = 1;
    soft.depth = 4;
    soft.input_multiplier = 1 << 30;
    soft.input_left_shift = 1;
    soft.diff_min = -2000000000;
    eq_softmax_s8(&soft, logits, probabilities);
    expect_i32("softmax uniform", probabilities[0], -64);
    expect_i32("softmax uniform last", probabilities[3], -64);
}

int main(void) {
    test_fixed_point();
    test_windows(0);
    test_windows(1);
    test_fully_connected();
    test_plain_kernels();
    printf("%d failures\n", failures);
    return failures > 100 ? 100 : failures;
}
