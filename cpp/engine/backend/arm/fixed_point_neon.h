// TFLite's integer requantization (quant/fixed_point.h, runtime/c's eq_fixed_point.h) on NEON
// lanes, bit for bit the scalar requantize() of backend/fixed_point_requantization.h: shared by the
// conv epilogue (int8_conv.cpp) and the GEMMs that requantize their tiles in registers
// (int8_gemm_tail.h). Header-only: each ISA file compiles it under its own flags.
#pragma once
#include <arm_neon.h>

#include <cstdint>
#include <type_traits>

#include "graph/quant_config.h"  // kResidualFraction

namespace edgequant::engine::arm {

// TFLite's MultiplyByQuantizedMultiplier on 4 lanes after its left shift (the caller's VSHL, which
// wraps, where any channel shifts left), bit for bit the scalar form (quant/fixed_point.h): the
// doubling high multiply that SQRDMULH is, then a right shift by −right (right ≤ 0, VRSHL's form)
// rounding ties away from zero (VRSHL rounds them up: gemmlowp's fixup subtracts 1 from negative
// values first).
inline int32x4_t multiply_high_and_shift_right4(int32x4_t shifted, int32x4_t multiplier, int32x4_t right) {
  const int32x4_t x = vqrdmulhq_s32(shifted, multiplier);
  const int32x4_t fixup = vshrq_n_s32(vandq_s32(x, right), 31);
  return vrshlq_s32(vqaddq_s32(x, fixup), right);
}

// A layer's requantization from int32 sums to s8 codes q − 128, per output channel, prepared once
// (arrays padded with zeros to whole GEMM panels, so a panel's lanes can always be loaded).
struct CodesRequantization {
  const int32_t* multiplier = nullptr;
  const int32_t* left = nullptr;   // left shifts ≥ 0; nullptr where no channel shifts left
  const int32_t* right = nullptr;  // right shifts ≤ 0
  bool right_only = false;         // no left shifts and every right shift < 0 (Shifts::kRightOnly)
  const int32_t* bias = nullptr;   // added with saturation first; nullptr where the sums hold it
  int32_t zero = 0;                // the output zero point, s8 form (z − 128); or the table index of x = 0
  int8_t lo = -128, hi = 127;      // the clamp of the activation, s8 form
  // An activation table (FixedPointRequantization::table): the sums are requantized to its index,
  // clamped to [0, table_last], and the code is table[index], s8 form; null: a clamp.
  const int8_t* table = nullptr;
  int16_t table_last = 0;
  // A fused residual Add (FixedPointRequantization::residual): the sums requantized to the value in
  // 1/2^kResidualFraction output steps (zero: 0, or the index of a table of `values`), clamped to
  // [pre_min, pre_max], plus the residual's s8 code r moved to (r + residual_offset)·multiplier;
  // then rounded to the output grid, + output_zero (s8 form), clamped to [lo, hi].
  bool residual = false;
  const int32_t* values = nullptr;
  int32_t pre_min = 0, pre_max = 0;
  int32_t residual_offset = 0, residual_multiplier = 0, residual_left = 0, residual_right = 0, output_zero = 0;
};

// The residual part of a row: 8 s8 residual codes to their values in 1/2^kResidualFraction output
// steps, and the value plus it rounded to the output grid (TFLite's RoundingDivideByPOT: ties away
// from zero), + the output zero point.
struct Residual8 {
  explicit Residual8(const CodesRequantization& r)
      : offset(vdupq_n_s32(r.residual_offset)), multiplier(vdupq_n_s32(r.residual_multiplier)),
        left(vdupq_n_s32(r.residual_left)), right(vdupq_n_s32(r.residual_right)), zero(vdupq_n_s32(r.output_zero)),
        pre_min(vdupq_n_s32(r.pre_min)), pre_max(vdupq_n_s32(r.pre_max)) {}
  void skip(const int8_t* codes, int32x4_t& lo, int32x4_t& hi) const {
    const int16x8_t wide = vmovl_s8(vld1_s8(codes));
    lo = vshlq_s32(vaddq_s32(vmovl_s16(vget_low_s16(wide)), offset), left);
    hi = vshlq_s32(vaddq_s32(vmovl_high_s16(wide), offset), left);
    lo = multiply_high_and_shift_right4(lo, multiplier, right);
    hi = multiply_high_and_shift_right4(hi, multiplier, right);
  }
  int32x4_t clamp_pre(int32x4_t pre) const { return vminq_s32(vmaxq_s32(pre, pre_min), pre_max); }
  int32x4_t output(int32x4_t value) const {
    const int32x4_t fixup = vshrq_n_s32(value, 31);
    return vaddq_s32(vrshrq_n_s32(vqaddq_s32(value, fixup), kResidualFraction), zero);
  }
  int32x4_t offset, multiplier, left, right, zero, pre_min, pre_max;
};

// 4 lanes of table indices to their int32 values.
inline int32x4_t look_up_values(int32x4_t indices, const int32_t* values) {
  int32_t index[4], out[4];
  vst1q_s32(index, indices);
  #pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) out[j] = values[index[j]];
  return vld1q_s32(out);
}

// Which shifts a layer's channels take, for the requantization compiled per case: every channel
// right by at least one (TFLite's fixup for ties away from zero is then one SSRA), right or none,
// or some left.
enum Shifts : int { kRightOnly = 0, kRightOrNone = 1, kSomeLeft = 2 };

// The constants of 4 channels in registers, loaded once per tile. kBiased: the bias is added here
// (CodesRequantization::bias set); kShift: the layer's Shifts.
template <bool kBiased, int kShift>
struct Requantize4 {
  [[gnu::always_inline]] Requantize4(const CodesRequantization& r, int64_t channel)
      : multiplier(vld1q_s32(r.multiplier + channel)), right(vld1q_s32(r.right + channel)),
        left(kShift == kSomeLeft ? vld1q_s32(r.left + channel) : vdupq_n_s32(0)),
        bias(kBiased ? vld1q_s32(r.bias + channel) : vdupq_n_s32(0)), zero(vdupq_n_s32(r.zero)) {}
  // The s8-form codes, not yet clamped (the caller narrows with saturation, then clamps in s8: the
  // same as clamping in int32, the clamp lying inside s8).
  int32x4_t operator()(int32x4_t sums) const { return vaddq_s32(scaled(sums), zero); }
  // The same before the zero point (added by a caller after narrowing to int16 with saturation, to
  // 8 lanes at once: the same codes, the zero point lying inside s8).
  int32x4_t scaled(int32x4_t sums) const {
    if constexpr (kBiased) sums = vqaddq_s32(sums, bias);
    if constexpr (kShift == kSomeLeft) sums = vshlq_s32(sums, left);
    if constexpr (kShift == kRightOnly) {  // x − 1 for negative x, then VRSHL: ties away from zero
      const int32x4_t x = vqrdmulhq_s32(sums, multiplier);  // never INT32_MIN: the multiplier is < 2^31
      return vrshlq_s32(vsraq_n_s32(x, x, 31), right);
    } else {
      return multiply_high_and_shift_right4(sums, multiplier, right);
    }
  }
  int32x4_t multiplier, right, left, bias, zero;
};

// f(std::bool_constant<biased>{}, std::integral_constant<int, Shifts>{}, std::bool_constant<a table>{}):
// code compiled once per case.
template <class F>
inline void with_requantization(const CodesRequantization& r, F&& f) {
  auto with_table = [&](auto biased, auto shift) {
    if (r.table || r.values) f(biased, shift, std::true_type{});
    else f(biased, shift, std::false_type{});
  };
  auto with_shift = [&](auto biased) {
    if (r.left) with_table(biased, std::integral_constant<int, kSomeLeft>{});
    else if (r.right_only) with_table(biased, std::integral_constant<int, kRightOnly>{});
    else with_table(biased, std::integral_constant<int, kRightOrNone>{});
  };
  if (r.bias) with_shift(std::true_type{});
  else with_shift(std::false_type{});
}

// n table indices (int16, saturated) clamped to [0, last], their codes from `table` to out.
template <int kLanes>
inline void look_up(int16x8_t indices, int16x8_t last, const int8_t* table, int8_t* out) {
  int16_t index[8];
  vst1q_s16(index, vminq_s16(vmaxq_s16(indices, vdupq_n_s16(0)), last));
  #pragma GCC unroll 8
  for (int j = 0; j < kLanes; ++j) out[j] = table[index[j]];
}

}  // namespace edgequant::engine::arm
