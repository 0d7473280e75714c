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
    int32_t i;
    for (i = 0; i < p->size; ++i) {
        const int32_t x1 = (int32_t)((uint32_t)(p->input1_offset + src1[i]) << p->left_shift);
        const int32_t x2 = (int32_t)((uint32_t)(p->input2_offset + src2[i]) << p->left_shift);
        const int32_t scaled1 = EQ_ADD_MULTIPLY(x1, p->input1_multiplier, p->input1_shift);
        const int32_t scaled2 = EQ_ADD_MULTIPLY(x2, p->input2_multiplier, p->input2_shift);
        const int32_t sum = EQ_ADD_MULTIPLY(scaled1 + scaled2, p->output_multiplier, p->output_shift) +
                            p->output_offset;
        dst[i] = (int8_t)eq_clamp_i32(sum, p->activation_min, p->activation_max);
    }
}
