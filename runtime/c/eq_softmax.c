#include "eq_softmax.h"

#include "eq_fixed_point.h"

/* Q-format names: qN has N integer bits, so raw = value * 2^(31 - N). Products of a qA and a qB raw
 * through eq_saturating_rounding_doubling_high_mul are q(A+B). */
#define EQ_SCALED_DIFF_INTEGER_BITS 5
#define EQ_ACCUMULATION_INTEGER_BITS 12

static int32_t mul(int32_t a, int32_t b) { return eq_saturating_rounding_doubling_high_mul(a, b); }

/* Taylor series of exp around -1/8 for x in [-1/4, 0) (q0 in, q0 out). */
static int32_t exp_on_interval_minus_quarter_to_zero(int32_t a) {
    const int32_t exp_minus_one_eighth = 1895147668;  /* e^(-1/8) in q0 */
    const int32_t one_third = 715827883;              /* 1/3 in q0 */
    const int32_t x = a + (1 << 28);                  /* a + 1/8 */
    const int32_t x2 = mul(x, x);
    const int32_t x3 = mul(x2, x);
    const int32_t x4 = mul(x2, x2);
    const int32_t x4_over_4 = eq_rounding_divide_by_pot(x4, 2);
    const int32_t poly = eq_rounding_divide_by_pot(mul(x4_over_4 + x3, one_third) + x2, 1);
    return exp_minus_one_eighth + mul(exp_minus_one_eighth, x + poly);
}

int32_t eq_exp_on_negative_values(int32_t a) {
    /* e^(-2^k) in q0 for k = -2 .. 4: the barrel shifter over the integer bits of -a */
    static const int32_t exp_of_minus_power_of_two[7] = {1672461947, 1302514674, 790015084, 290630308,
                                                         39332535,   720401,     242};
    const int fractional_bits = 31 - EQ_SCALED_DIFF_INTEGER_BITS;
    const int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod_quarter_minus_quarter = (a & mask) - one_quarter;
    const int32_t remainder = a_mod_quarter_minus_quarter - a;
    int32_t result = exp_on_interval_minus_quarter_to_zero(
        eq_saturating_left_shift(a_mod_quarter_minus_quarter, EQ_SCALED_DIFF_INTEGER_BITS));
    int k;
    for (k = -2; k <= 4; ++k) {
        if (EQ_SCALED_DIFF_INTEGER_BITS > k && (remainder & ((int32_t)1 << (fractional_bits + k)))) {
            result = mul(result, exp_of_minus_power_of_two[k + 2]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

int32_t eq_one_over_one_plus_x(int32_t a) {
    const int32_t constant_48_over_17 = 1515870810;     /* q2 */
    const int32_t constant_minus_32_over_17 = -1010580540; /* q2 */
    const int32_t one_q2 = (int32_t)1 << 29;
    /* (a + 1) / 2 rounded half away from zero, in 64 bits: q0 */
    const int64_t sum = (int64_t)a + INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    /* Newton-Raphson on 1 / half_denominator in q2 */
    int32_t x = constant_48_over_17 + mul(half_denominator, constant_minus_32_over_17);
    int i;
    for (i = 0; i < 3; ++i) {
        const int32_t half_denominator_times_x = mul(half_denominator, x);
        const int32_t one_minus = one_q2 - half_denominator_times_x;
        x = x + eq_saturating_left_shift(mul(x, one_minus), 2);
    }
    /* x / 2 reinterpreted as q1, then rescaled to q0 */
    return eq_saturating_left_shift(x, 1);
}

/* 1 / x for x in q12, as a q0 mantissa and a count of bits above one. */
static int32_t reciprocal(int32_t x, int *bits_over_unit) {
    int headroom_plus_one = 0;
    uint32_t shifted;
    while (headroom_plus_one < 32 && !((uint32_t)x & (0x80000000u >> headroom_plus_one))) {
        ++headroom_plus_one;
    }
    *bits_over_unit = EQ_ACCUMULATION_INTEGER_BITS - headroom_plus_one;
    shifted = ((uint32_t)x << headroom_plus_one) - 0x80000000u;
    return eq_one_over_one_plus_x((int32_t)shifted);
}

void eq_softmax_s8(const eq_softmax_params *p, const int8_t *src, int8_t *dst) {
    int32_t row, c;
    for (row = 0; row < p->rows; ++row) {
        const int8_t *in = src + row * p->depth;
        int8_t *out = dst + row * p->depth;
        int32_t max_value = -128;
        int32_t sum_of_exps = 0; /* q12 */
        int32_t scale;
        int bits_over_unit;
        for (c = 0; c < p->depth; ++c) {
            max_value = eq_max_i32(max_value, in[c]);
        }
        for (c = 0; c < p->depth; ++c) {
            const int32_t diff = in[c] - max_value;
            if (diff >= p->diff_min) {
                const int32_t scaled = eq_multiply_by_quantized_multiplier_greater_than_one(
                    diff, p->input_multiplier, p->input_left_shift);
                /* q0 -> q12 */
                sum_of_exps += eq_rounding_divide_by_pot(eq_exp_on_negative_values(scaled),
                                                         EQ_ACCUMULATION_INTEGER_BITS);
            }
        }
        scale = reciprocal(sum_of_exps, &bits_over_unit);
        for (c = 0; c < p->depth; ++c) {
            const int32_t diff = in[c] - max_value;
            if (diff >= p->diff_min) {
                const int32_t scaled = eq_multiply_by_quantized_multiplier_greater_than_one(
                    diff, p->input_multiplier, p->input_left_shift);
                const int32_t probability = mul(scale, eq_exp_on_negative_values(scaled));
                const int32_t unsaturated = eq_rounding_divide_by_pot(probability, bits_over_unit + 31 - 8);
                out[c] = (int8_t)eq_clamp_i32(unsaturated - 128, -128, 127);
            } else {
                out[c] = -128;
            }
        }
    }
}
