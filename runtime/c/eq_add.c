#include "eq_add.h"

#include "eq_dsp.h"
#include "eq_fixed_point.h"

/* On a DSP core the one-SMLAL requantization (the same value for the non-negative multipliers the
 * exporter writes; tests/c/test_dsp_kernels.c checks the two agree) */
#if EQ_USE_DSP
#define EQ_ADD_MULTIPLY eq_multiply_by_quantized_multiplier_fast
#else
#define EQ_ADD_MULTIPLY eq_multiply_by_quantized_multiplier
#endif

void eq_add_s8(const eq_add_params *p, const int8_t *src1, const int8_t *src2, int8_t *dst) {
    /* locals: the int8 stores may alias *p as far as the compiler knows, which would reload every field */
    const int32_t size = p->size, left_shift = p->left_shift;
    const int32_t offset1 = p->input1_offset, multiplier1 = p->input1_multiplier, shift1 = p->input1_shift;
    const int32_t offset2 = p->input2_offset, multiplier2 = p->input2_multiplier, shift2 = p->input2_shift;
    const int32_t output_offset = p->output_offset, output_multiplier = p->output_multiplier;
    const int32_t output_shift = p->output_shift, lo = p->activation_min, hi = p->activation_max;
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int32_t x1 = (int32_t)((uint32_t)(offset1 + src1[i]) << left_shift);
        const int32_t x2 = (int32_t)((uint32_t)(offset2 + src2[i]) << left_shift);
        const int32_t scaled1 = EQ_ADD_MULTIPLY(x1, multiplier1, shift1);
        const int32_t scaled2 = EQ_ADD_MULTIPLY(x2, multiplier2, shift2);
        const int32_t sum = EQ_ADD_MULTIPLY(scaled1 + scaled2, output_multiplier, output_shift) + output_offset;
        dst[i] = (int8_t)eq_clamp_i32(sum, lo, hi);
    }
}
