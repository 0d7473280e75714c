#include "eq_relu.h"

#include "eq_fixed_point.h"

void eq_relu_s8(const eq_relu_params *p, const int8_t *src, int8_t *dst) {
    /* locals: the int8 stores may alias *p as far as the compiler knows */
    const int32_t size = p->size, input_offset = p->input_offset, output_offset = p->output_offset;
    const int32_t multiplier = p->multiplier, shift = p->shift, lo = p->activation_min, hi = p->activation_max;
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int32_t value = eq_multiply_by_quantized_multiplier(src[i] + input_offset, multiplier, shift);
        dst[i] = (int8_t)eq_clamp_i32(value + output_offset, lo, hi);
    }
}
