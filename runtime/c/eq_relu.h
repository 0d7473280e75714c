/* ReLU of an int8 tensor onto another grid (TFLite Micro's int8 RELU): each value moved to the output
 * scale in fixed point, offset, and clamped from below at the output's code of 0. */
#ifndef EQ_RELU_H
#define EQ_RELU_H

#include "eq_shapes.h"

#ifdef __cplusplus
extern "C" {
#endif

/* dst[i] = clamp(output_offset + MultiplyByQuantizedMultiplier(src[i] + input_offset, multiplier,
 * shift), activation_min, activation_max); dst may be src. This plain loop is its own reference. */
void eq_relu_s8(const eq_relu_params *params, const int8_t *src, int8_t *dst);

#ifdef __cplusplus
}
#endif

#endif /* EQ_RELU_H */
