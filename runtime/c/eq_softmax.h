/* Softmax over the last axis, int8 in, int8 out (output scale 1/256, zero point -128), in
 * gemmlowp fixed point exactly as TFLite's integer reference. */
#ifndef EQ_SOFTMAX_H
#define EQ_SOFTMAX_H

#include "eq_shapes.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Plain loops: their own reference (the fixed-point exp and reciprocal are tested separately). */
void eq_softmax_s8(const eq_softmax_params *params, const int8_t *src, int8_t *dst);

/* exp(x) for x <= 0 given with 5 integer bits (raw = x * 2^26), result with 0 integer bits (raw = e^x * 2^31). */
int32_t eq_exp_on_negative_values(int32_t raw);

/* 1 / (1 + x) for x in [0, 1), both with 0 integer bits. */
int32_t eq_one_over_one_plus_x(int32_t raw);

#ifdef __cplusplus
}
#endif

#endif /* EQ_SOFTMAX_H */
