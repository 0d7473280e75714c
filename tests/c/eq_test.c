#include "eq_test.h"

#include <stdio.h>
#include <string.h>

static int failures = 0;
static uint32_t rng_state = 12345u;

uint32_t eq_test_random(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

int32_t eq_test_random_in(int32_t lo, int32_t hi) {
    return lo + (int32_t)(eq_test_random() % (uint32_t)(hi - lo + 1));
}

void eq_test_fill_s8(int8_t *x, int32_t n, int extreme) {
    int32_t i;
    for (i = 0; i < n; ++i) {
        x[i] = (int8_t)(extreme ? ((eq_test_random() & 1u) ? 127 : -128) : eq_test_random_in(-128, 127));
    }
}

void eq_test_expect_s8(const char *what, int case_id, const int8_t *got, const int8_t *want, int32_t n) {
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

void eq_test_expect_i32(const char *what, int32_t got, int32_t want) {
    if (got != want) {
        printf("FAIL %s: got %ld want %ld\n", what, (long)got, (long)want);
        ++failures;
    }
}

void eq_test_check(int condition, const char *what, int case_id) {
    if (!condition) {
        printf("FAIL %s case %d\n", what, case_id);
        ++failures;
    }
}

int eq_test_finish(void) {
    printf("%d failures\n", failures);
    return failures > 100 ? 100 : failures;
}

void eq_test_random_window(eq_window_params *p, int depthwise) {
    memset(p, 0, sizeof(*p));
    p->batches = eq_test_random_in(1, 2);
    p->input_height = eq_test_random_in(1, 9);
    p->input_width = eq_test_random_in(1, 9);
    p->input_channels = eq_test_random_in(1, depthwise ? 6 : 5);
    p->filter_height = eq_test_random_in(1, 4);
    p->filter_width = eq_test_random_in(1, 4);
    p->stride_height = eq_test_random_in(1, 3);
    p->stride_width = eq_test_random_in(1, 3);
    p->dilation_height = eq_test_random_in(1, 2);
    p->dilation_width = eq_test_random_in(1, 2);
    p->padding_top = eq_test_random_in(0, p->filter_height - 1);
    p->padding_left = eq_test_random_in(0, p->filter_width - 1);
    p->depth_multiplier = depthwise ? eq_test_random_in(1, 3) : 1;
    p->output_channels = depthwise ? p->input_channels * p->depth_multiplier : eq_test_random_in(1, 6);
    p->output_height = eq_test_random_in(1, 6);
    p->output_width = eq_test_random_in(1, 6);
    p->input_offset = eq_test_random_in(-127, 128);
    p->output_offset = eq_test_random_in(-128, 127);
    p->activation_min = eq_test_random_in(-128, 0);
    p->activation_max = eq_test_random_in(0, 127);
}

void eq_test_random_requantization(int32_t *multipliers, int32_t *shifts, int32_t *bias, int32_t channels) {
    int32_t i;
    for (i = 0; i < channels; ++i) {
        multipliers[i] = (int32_t)((1u << 30) + (eq_test_random() % (1u << 30)));
        shifts[i] = eq_test_random_in(-12, 2);
        bias[i] = eq_test_random_in(-40000, 40000);
    }
}

/* a / 2^n rounded to nearest, ties away from zero */
static int64_t divide_rounding(int64_t a, int n) {
    const int64_t half = n > 0 ? (int64_t)1 << (n - 1) : 0;
    if (n == 0) {
        return a;
    }
    return a >= 0 ? (a + half) / ((int64_t)1 << n) : -((-a + half) / ((int64_t)1 << n));
}

int32_t eq_test_requantize(int32_t x, int32_t multiplier, int32_t shift) {
    const int left = shift > 0 ? (int)shift : 0;
    const int right = shift > 0 ? 0 : (int)-shift;
    int64_t scaled = (int64_t)x * ((int64_t)1 << left);
    int64_t high;
    /* the kernels' inputs are bounded so the left shift stays in int32 (the exporter checks it) */
    if (scaled > INT32_MAX || scaled < INT32_MIN) {
        return scaled > 0 ? INT32_MAX : INT32_MIN;
    }
    if (scaled == INT32_MIN && multiplier == INT32_MIN) {
        return INT32_MAX;
    }
    /* gemmlowp's high product: round(x * m / 2^31), but a negative tie rounds toward zero */
    high = (int64_t)scaled * multiplier;
    high = high >= 0 ? (high + ((int64_t)1 << 30)) >> 31 : -((-high + ((int64_t)1 << 30) - 1) >> 31);
    return (int32_t)divide_rounding(high, right);
}
