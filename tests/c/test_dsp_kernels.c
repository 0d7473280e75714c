/* The Cortex-M DSP kernels (runtime/c/eq_*_dsp.c, reached through eq_conv2d_s8 & co. when built for a
 * core with the DSP extension) against the plain references, on shapes the small-shape test in
 * test_kernels.c does not reach: many channels (the 4-wide and tail paths), 1x1 and 3x3 filters,
 * one-channel inputs with wide filters, dilations; and the fast requantization against the general
 * one. Built for the emulated Cortex-M4 by tests/python/microcontroller/test_m4_kernels.py, once with
 * the DSP kernels and once with -DEQ_PORTABLE; prints which ran, then "N failures". */
#include <stdio.h>
#include <string.h>

#include "eq_dsp.h"
#include "edgequant_runtime.h"

static int failures = 0;
static uint32_t rng_state = 2463534242u;

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

static void expect_equal(const char *what, int case_id, const int8_t *got, const int8_t *want, int32_t n) {
    int32_t i;
    for (i = 0; i < n; ++i) {
        if (got[i] != want[i]) {
            printf("FAIL %s case %d: index %ld got %d want %d\n", what, case_id, (long)i, got[i], want[i]);
            ++failures;
            return;
        }
    }
}

#define MAX_TENSOR 16384
static int8_t src[MAX_TENSOR], filter[MAX_TENSOR], got[MAX_TENSOR], want[MAX_TENSOR];
static int32_t multipliers[160], shifts[160], bias[160]; /* channels <= 70 * 2 */

static void random_window(eq_window_params *p, int depthwise, int shape) {
    memset(p, 0, sizeof(*p));
    p->batches = random_in(1, 2);
    p->input_height = random_in(1, 8);
    p->input_width = random_in(1, 8);
    p->input_channels = shape == 2 ? 1 : random_in(1, depthwise ? 70 : 40);
    p->filter_height = shape == 0 ? 1 : shape == 1 ? 3 : random_in(1, 10);
    p->filter_width = shape == 0 ? 1 : shape == 1 ? 3 : random_in(1, 5);
    p->stride_height = random_in(1, 2);
    p->stride_width = random_in(1, 2);
    p->dilation_height = random_in(0, 3) ? 1 : 2;
    p->dilation_width = random_in(0, 3) ? 1 : 2;
    p->padding_top = random_in(0, p->filter_height - 1);
    p->padding_left = random_in(0, p->filter_width - 1);
    p->depth_multiplier = depthwise && random_in(0, 4) == 0 ? 2 : 1;
    p->output_channels = depthwise ? p->input_channels * p->depth_multiplier : random_in(1, 19);
    p->output_height = random_in(1, 6);
    p->output_width = random_in(1, 6);
    p->input_offset = random_in(-127, 128);
    p->output_offset = random_in(-128, 127);
    p->activation_min = random_in(-128, 0);
    p->activation_max = random_in(0, 127);
    if (random_in(0, 2) == 0) { /* no activation: the kernels saturate with one instruction */
        p->activation_min = -128;
        p->activation_max = 127;
    }
}

static void random_requantization(int32_t channels) {
    int32_t i;
    for (i = 0; i < channels; ++i) {
        multipliers[i] = (int32_t)((1u << 30) + (next_random() % (1u << 30)));
        shifts[i] = random_in(-14, 1);
        bias[i] = random_in(-60000, 60000);
    }
}

static void test_windows(int depthwise) {
    int c;
    for (c = 0; c < 300; ++c) {
        eq_window_params p;
        int32_t out_size, in_size, filter_size;
        random_window(&p, depthwise, c % 3);
        in_size = p.batches * p.input_height * p.input_width * p.input_channels;
        filter_size = p.filter_height * p.filter_width * p.output_channels * (depthwise ? 1 : p.input_channels);
        out_size = p.batches * p.output_height * p.output_width * p.output_channels;
        if (in_size > MAX_TENSOR || filter_size > MAX_TENSOR || out_size + 16 > MAX_TENSOR) {
            continue;
        }
        fill_s8(src, in_size, c % 11 == 0);
        fill_s8(filter, filter_size, c % 13 == 0);
        random_requantization(p.output_channels);
        memset(got, 0x55, (size_t)out_size + 16);
        memset(want, 0x55, (size_t)out_size + 16);
        if (depthwise) {
            eq_depthwise_conv2d_s8(&p, multipliers, shifts, src, filter, c % 4 ? bias : NULL, got);
            eq_depthwise_conv2d_s8_ref(&p, multipliers, shifts, src, filter, c % 4 ? bias : NULL, want);
        } else {
            eq_conv2d_s8(&p, multipliers, shifts, src, filter, c % 4 ? bias : NULL, got);
            eq_conv2d_s8_ref(&p, multipliers, shifts, src, filter, c % 4 ? bias : NULL, want);
        }
        expect_equal(depthwise ? "depthwise_conv2d" : "conv2d", c, got, want, out_size + 16);
    }
}

static void test_fully_connected(void) {
    int c;
    for (c = 0; c < 200; ++c) {
        eq_fully_connected_params p;
        p.batches = random_in(1, 2);
        p.input_depth = random_in(1, 300);
        p.output_depth = random_in(1, 21);
        p.input_offset = random_in(-127, 128);
        p.filter_offset = c % 2 ? 0 : random_in(-127, 128);
        p.output_offset = random_in(-128, 127);
        p.multiplier = (int32_t)((1u << 30) + (next_random() % (1u << 30)));
        p.shift = random_in(-16, 1);
        p.activation_min = random_in(-128, 0);
        p.activation_max = random_in(0, 127);
        fill_s8(src, p.batches * p.input_depth, c % 7 == 0);
        fill_s8(filter, p.output_depth * p.input_depth, c % 9 == 0);
        random_requantization(p.output_depth);
        memset(got, 0x55, 64);
        memset(want, 0x55, 64);
        eq_fully_connected_s8(&p, src, filter, c % 3 ? bias : NULL, got);
        eq_fully_connected_s8_ref(&p, src, filter, c % 3 ? bias : NULL, want);
        expect_equal("fully_connected", c, got, want, p.batches * p.output_depth + 8);
    }
}

/* AveragePool from the formula: the rounded mean of the window's values inside the input. */
static void average_pool_formula(const eq_window_params *p, const int8_t *x, int8_t *out) {
    int32_t b, oy, ox, c, ky, kx;
    for (b = 0; b < p->batches; ++b) {
        for (oy = 0; oy < p->output_height; ++oy) {
            for (ox = 0; ox < p->output_width; ++ox) {
                for (c = 0; c < p->input_channels; ++c) {
                    int32_t sum = 0, count = 0;
                    for (ky = 0; ky < p->filter_height; ++ky) {
                        for (kx = 0; kx < p->filter_width; ++kx) {
                            const int32_t iy = oy * p->stride_height - p->padding_top + ky;
                            const int32_t ix = ox * p->stride_width - p->padding_left + kx;
                            if (iy >= 0 && iy < p->input_height && ix >= 0 && ix < p->input_width) {
                                sum += x[((b * p->input_height + iy) * p->input_width + ix) * p->input_channels + c];
                                ++count;
                            }
                        }
                    }
                    sum = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                    *out++ = (int8_t)(sum < p->activation_min ? p->activation_min
                                      : sum > p->activation_max ? p->activation_max : sum);
                }
            }
        }
    }
}

static void test_average_pool(void) {
    int c;
    for (c = 0; c < 200; ++c) {
        eq_window_params p;
        int32_t in_size, out_size;
        memset(&p, 0, sizeof(p));
        p.batches = random_in(1, 2);
        p.input_channels = c % 5 == 0 ? random_in(1, 9) : 4 * random_in(1, 16);
        p.filter_height = c % 7 == 0 ? 17 : random_in(1, 16); /* 17 x 16 > 256 values: the portable kernel */
        p.filter_width = c % 7 == 0 ? 16 : random_in(1, 16);
        p.input_height = random_in(p.filter_height > 8 ? 8 : 1, p.filter_height + 3);
        p.input_width = random_in(p.filter_width > 8 ? 8 : 1, p.filter_width + 3);
        p.stride_height = random_in(1, 3);
        p.stride_width = random_in(1, 3);
        p.padding_top = random_in(0, (p.filter_height - 1) / 2);
        p.padding_left = random_in(0, (p.filter_width - 1) / 2);
        /* output sizes whose windows all overlap the input (the exporter refuses empty windows) */
        p.output_height = (p.input_height + p.padding_top - 1) / p.stride_height + 1;
        p.output_width = (p.input_width + p.padding_left - 1) / p.stride_width + 1;
        p.activation_min = c % 3 ? -128 : random_in(-128, 0);
        p.activation_max = c % 3 ? 127 : random_in(0, 127);
        in_size = p.batches * p.input_height * p.input_width * p.input_channels;
        out_size = p.batches * p.output_height * p.output_width * p.input_channels;
        if (in_size > MAX_TENSOR || out_size + 16 > MAX_TENSOR) {
            continue;
        }
        fill_s8(src, in_size, c % 4 == 0);
        memset(got, 0x55, (size_t)out_size + 16);
        memset(want, 0x55, (size_t)out_size + 16);
        eq_average_pool_s8(&p, src, got);
        average_pool_formula(&p, src, want);
        expect_equal("average_pool", c, got, want, out_size + 16);
    }
}

static void test_fast_requantization(void) {
    static const int32_t edges[] = {0, 1, -1, 2, -2, 3, -3, 1 << 20, -(1 << 20), INT32_MAX, INT32_MIN, 12345, -12345};
    int32_t i, j;
    for (i = 0; i < 20000; ++i) {
        const int32_t x = i < 13 * 8 ? edges[i % 13] : (int32_t)next_random() >> random_in(0, 24);
        const int32_t multiplier = i % 97 == 0 ? (int32_t)(1u << 30) : i % 89 == 0 ? INT32_MAX
                                   : i % 83 == 0 ? 0 : i % 79 == 0 ? INT32_MIN : i % 7 == 0 ? (int32_t)next_random()
                                   : (int32_t)((1u << 30) + (next_random() % (1u << 30)));
        const int32_t shift = random_in(-31, 4);
        const int32_t fast = eq_multiply_by_quantized_multiplier_fast(x, multiplier, shift);
        const int32_t general = eq_multiply_by_quantized_multiplier(x, multiplier, shift);
        if (fast != general) {
            printf("FAIL requantize x=%ld m=%ld s=%ld: fast %ld general %ld\n", (long)x, (long)multiplier, (long)shift,
                   (long)fast, (long)general);
            ++failures;
            return;
        }
    }
    /* the one saturating product, at every shift */
    for (j = -31; j <= 0; ++j) {
        if (eq_multiply_by_quantized_multiplier_fast(INT32_MIN, INT32_MIN, j) !=
            eq_multiply_by_quantized_multiplier(INT32_MIN, INT32_MIN, j)) {
            printf("FAIL requantize INT32_MIN^2 shift %ld\n", (long)j);
            ++failures;
        }
    }
    /* ties: a * m exactly k + 1/2 units of 2^31, both signs */
    for (j = -40; j <= 40; ++j) {
        const int32_t x = 2 * j + 1;
        if (eq_multiply_by_quantized_multiplier_fast(x, 1 << 30, 0) != eq_multiply_by_quantized_multiplier(x, 1 << 30, 0)) {
            printf("FAIL requantize tie x=%ld\n", (long)x);
            ++failures;
        }
    }
}

int main(void) {
    printf("flavour %s\n", EQ_USE_DSP ? "dsp" : "portable");
    test_fast_requantization();
    test_windows(0);
    test_windows(1);
    test_fully_connected();
    test_average_pool();
    printf("%d failures\n", failures);
    return failures;
}
