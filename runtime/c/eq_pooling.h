/* AveragePool2D and MaxPool2D on int8 NHWC tensors (input and output share scale and zero point). */
#ifndef EQ_POOLING_H
#define EQ_POOLING_H

#include "eq_shapes.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Mean over the taps inside the input, rounded half away from zero, clamped. Plain loops: their own
 * reference. Uses filter/stride/padding/activation fields of params; offsets are unused. */
void eq_average_pool_s8(const eq_window_params *params, const int8_t *src, int8_t *dst);

/* Maximum over the taps inside the input, clamped. */
void eq_max_pool_s8(const eq_window_params *params, const int8_t *src, int8_t *dst);

#ifdef __cplusplus
}
#endif

#endif /* EQ_POOLING_H */
