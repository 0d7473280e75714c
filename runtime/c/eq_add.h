/* Elementwise Add of two int8 tensors of the same shape, each with its own scale (TFLite's int8 Add). */
#ifndef EQ_ADD_H
#define EQ_ADD_H

#include "eq_shapes.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Both inputs are shifted left by left_shift, rescaled to a common scale, summed and rescaled to the
 * output. This plain loop is its own reference. */
void eq_add_s8(const eq_add_params *params, const int8_t *src1, const int8_t *src2, int8_t *dst);

#ifdef __cplusplus
}
#endif

#endif /* EQ_ADD_H */
