/* What every runtime/c kernel test shares (tests/c/test_<kind>.c, one CTest test each): a seeded
 * xorshift generator, int8 fills with saturating values, comparisons that print the case and the
 * first differing index in hex, random window parameters, and TFLite's fixed-point requantization
 * written again in plain 64-bit arithmetic (the references' arithmetic, independent of
 * eq_fixed_point.h). A test's exit status is its number of failed checks (at most 100). */
#ifndef EQ_TEST_H
#define EQ_TEST_H

#include <stdint.h>

#include "edgequant_runtime.h"

#define EQ_TEST_SENTINEL 0x55 /* written over outputs first: a kernel writing past its end shows */

uint32_t eq_test_random(void);
int32_t eq_test_random_in(int32_t lo, int32_t hi);
/* n values, uniform in int8; extreme: only -128 and 127 (saturating sums) */
void eq_test_fill_s8(int8_t *x, int32_t n, int extreme);
void eq_test_expect_s8(const char *what, int case_id, const int8_t *got, const int8_t *want, int32_t n);
void eq_test_expect_i32(const char *what, int32_t got, int32_t want);
/* records a failure with a message when !condition */
void eq_test_check(int condition, const char *what, int case_id);
/* prints "<n> failures" and returns the exit status */
int eq_test_finish(void);

/* A random window (batches 1-2, sizes up to 9, filters up to 4, strides up to 3, dilations up to 2,
 * zero points anywhere in int8); the output size is random too (the kernels accept any). */
void eq_test_random_window(eq_window_params *p, int depthwise);
/* Per-channel multipliers in [2^30, 2^31), shifts in [-12, 2], biases in +-40000. */
void eq_test_random_requantization(int32_t *multipliers, int32_t *shifts, int32_t *bias, int32_t channels);

/* round(x * multiplier * 2^(shift - 31)) as TFLite computes it (rounding the doubling high product,
 * then the right shift, ties away from zero), in int64 straight from that definition. */
int32_t eq_test_requantize(int32_t x, int32_t multiplier, int32_t shift);

#endif /* EQ_TEST_H */
