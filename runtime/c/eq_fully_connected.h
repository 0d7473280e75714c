/* FullyConnected, int8 activations and weights [output_depth, input_depth], per-tensor scale. */
#ifndef EQ_FULLY_CONNECTED_H
#define EQ_FULLY_CONNECTED_H

#include "eq_shapes.h"

#ifdef __cplusplus
extern "C" {
#endif

/* dst[b, o] = clamp(output_offset + M * (bias[o] + sum_i (w[o, i] + filter_offset) * (src[b, i] + input_offset))).
 * bias may be NULL. */
void eq_fully_connected_s8(const eq_fully_connected_params *params, const int8_t *src, const int8_t *weights,
                           const int32_t *bias, int8_t *dst);

/* Straight from the formula: the yardstick for eq_fully_connected_s8. */
void eq_fully_connected_s8_ref(const eq_fully_connected_params *params, const int8_t *src, const int8_t *weights,
                               const int32_t *bias, int8_t *dst);

#ifdef __cplusplus
}
#endif

#endif /* EQ_FULLY_CONNECTED_H */
