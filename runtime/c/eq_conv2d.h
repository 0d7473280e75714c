/* Conv2D, int8 activations, per-channel int8 weights, int32 bias (TFLite's ConvPerChannel). */
#ifndef EQ_CONV2D_H
#define EQ_CONV2D_H

#include "eq_shapes.h"

#ifdef __cplusplus
extern "C" {
#endif

/* dst[b, y, x, o] = clamp(output_offset + M_o * (bias[o] + sum w[o, ky, kx, i] * (src + input_offset)))
 * over the taps inside the input (zero padding in the real domain). bias may be NULL. */
void eq_conv2d_s8(const eq_window_params *params, const int32_t *multipliers, const int32_t *shifts,
                  const int8_t *src, const int8_t *filter, const int32_t *bias, int8_t *dst);

/* The same, written straight from the formula: the yardstick for eq_conv2d_s8. */
void eq_conv2d_s8_ref(const eq_window_params *params, const int32_t *multipliers, const int32_t *shifts,
                      const int8_t *src, const int8_t *filter, const int32_t *bias, int8_t *dst);

#ifdef __cplusplus
}
#endif

#endif /* EQ_CONV2D_H */
