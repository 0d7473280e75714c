/* DepthwiseConv2D, int8 activations, per-channel int8 weights (TFLite's DepthwiseConvPerChannel).
 * Output channel o = i * depth_multiplier + m reads input channel i; filter layout [1, kh, kw, out]. */
#ifndef EQ_DEPTHWISE_CONV2D_H
#define EQ_DEPTHWISE_CONV2D_H

#include "eq_shapes.h"

#ifdef __cplusplus
extern "C" {
#endif

void eq_depthwise_conv2d_s8(const eq_window_params *params, const int32_t *multipliers, const int32_t *shifts,
                            const int8_t *src, const int8_t *filter, const int32_t *bias, int8_t *dst);

/* Straight from the formula: the yardstick for eq_depthwise_conv2d_s8. */
void eq_depthwise_conv2d_s8_ref(const eq_window_params *params, const int32_t *multipliers,
                                const int32_t *shifts, const int8_t *src, const int8_t *filter,
                                const int32_t *bias, int8_t *dst);

#ifdef __cplusplus
}
#endif

#endif /* EQ_DEPTHWISE_CONV2D_H */
