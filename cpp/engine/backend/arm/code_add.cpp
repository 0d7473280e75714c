// A quantized model's Add of two NHWC code tensors (ops/code_add.cpp) on NEON: TFLite's integer Add
// (backend/fixed_point_requantization.h add_codes) 16 codes at a time, bit for bit the scalar form,
// which also does the last few. Both tensors lie in one layout, so the sum is elementwise over
// their bytes; the output stays NHWC codes for the convs after it.
#include <arm_neon.h>

#include <memory>
#include <type_traits>

#include "backend/arm/arm_kernels.h"
#include "backend/arm/fixed_point_neon.h"
#include "backend/arm/nhwc_codes.h"
#include "backend/fixed_point_requantization.h"

namespace edgequant::engine::arm {
namespace {

// TFLite's MultiplyByQuantizedMultiplier after its left shift, 4 lanes (fixed_point_neon.h).
// kStrictlyRight: the shift is right by at least one, where the fixup for ties away from zero is the
// sign itself: one SSRA instead of the general form's AND, shift and saturating add.
template <bool kStrictlyRight>
inline int32x4_t scale4(int32x4_t x, int32x4_t multiplier, int32x4_t right) {
  if constexpr (kStrictlyRight) {
    const int32x4_t h = vqrdmulhq_s32(x, multiplier);  // never INT32_MIN: the multiplier is < 2^31
    return vrshlq_s32(vsraq_n_s32(h, h, 31), right);
  } else {
    return multiply_high_and_shift_right4(x, multiplier, right);
  }
}

// How an input's scaled value (q − z) << 20, times its multiplier, is computed. TFLite's Add scales the
// input of the larger scale by exactly one half (multiplier 2^30, no shift): that is (q − z) << 19,
// no multiply (SQRDMULH of an even value by 2^30 halves it exactly), 8 instructions per 16 codes
// instead of 24 in the general form.
enum class InputScaling { kGeneral, kStrictlyRight, kHalf };

constexpr int32_t kOneHalf = 1 << 30;

InputScaling input_scaling(int32_t multiplier, int32_t shift) {
  if (multiplier == kOneHalf && shift == 0) return InputScaling::kHalf;
  return shift < 0 ? InputScaling::kStrictlyRight : InputScaling::kGeneral;
}

// One input's 16 codes, s8 form, to their scaled values.
template <InputScaling kScaling>
struct ScaleInput {
  ScaleInput(int32_t zero, int32_t multiplier, int32_t shift)
      : zero(vdupq_n_s8(static_cast<int8_t>(zero - 128))), multiplier(vdupq_n_s32(multiplier)),
        right(vdupq_n_s32(shift)) {}
  void operator()(int8x16_t codes, int32x4_t out[4]) const {
    // (q − z)·2^4 (or 2^3) fits int16 (|q − z| ≤ 255); widening by 16 more makes the shift of 20 (19)
    constexpr int kPreShift = kScaling == InputScaling::kHalf ? 3 : 4;
    const int16x8_t lo = vshlq_n_s16(vsubl_s8(vget_low_s8(codes), vget_low_s8(zero)), kPreShift);
    const int16x8_t hi = vshlq_n_s16(vsubl_high_s8(codes, zero), kPreShift);
    out[0] = vshll_n_s16(vget_low_s16(lo), 16);
    out[1] = vshll_high_n_s16(lo, 16);
    out[2] = vshll_n_s16(vget_low_s16(hi), 16);
    out[3] = vshll_high_n_s16(hi, 16);
    if constexpr (kScaling != InputScaling::kHalf)
      for (int j = 0; j < 4; ++j) out[j] = scale4<kScaling == InputScaling::kStrictlyRight>(out[j], multiplier, right);
  }
  int8x16_t zero;
  int32x4_t multiplier, right;
};

template <InputScaling kScalingA, InputScaling kScalingB, bool kRightOut>
void add_codes_neon(const CodeAddition& p, const int8_t* a, const int8_t* b, int8_t* y, int64_t n) {
  const ScaleInput<kScalingA> first(p.zero_a, p.multiplier_a, p.shift_a);
  const ScaleInput<kScalingB> second(p.zero_b, p.multiplier_b, p.shift_b);
  const int32x4_t multiplier = vdupq_n_s32(p.output_multiplier), right = vdupq_n_s32(p.output_shift);
  // the zero point added to 8 lanes at once in int16, saturating: the same codes (it lies inside s8)
  const int16x8_t zero = vdupq_n_s16(static_cast<int16_t>(p.output_zero - 128));
  const int8x16_t lo = vdupq_n_s8(static_cast<int8_t>(p.min - 128)), hi = vdupq_n_s8(static_cast<int8_t>(p.max - 128));
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    int32x4_t x[4], z[4], s[4];
    first(vld1q_s8(a + k), x);
    second(vld1q_s8(b + k), z);
    for (int j = 0; j < 4; ++j) s[j] = scale4<kRightOut>(vaddq_s32(x[j], z[j]), multiplier, right);
    const int16x8_t low = vqaddq_s16(vqmovn_high_s32(vqmovn_s32(s[0]), s[1]), zero);
    const int16x8_t high = vqaddq_s16(vqmovn_high_s32(vqmovn_s32(s[2]), s[3]), zero);
    vst1q_s8(y + k, vminq_s8(vmaxq_s8(vqmovn_high_s16(vqmovn_s16(low), high), lo), hi));
  }
  for (; k < n; ++k) y[k] = static_cast<int8_t>(add_codes(p, a[k] + 128, b[k] + 128) - 128);
}

// The kernel compiled for each input's scaling and whether the output's shift is strictly right.
template <class Call>
void with_scaling(InputScaling scaling, Call&& call) {
  switch (scaling) {
    case InputScaling::kHalf: return call(std::integral_constant<InputScaling, InputScaling::kHalf>{});
    case InputScaling::kStrictlyRight: return call(std::integral_constant<InputScaling, InputScaling::kStrictlyRight>{});
    case InputScaling::kGeneral: return call(std::integral_constant<InputScaling, InputScaling::kGeneral>{});
  }
}

void add_codes_neon(const CodeAddition& p, const int8_t* a, const int8_t* b, int8_t* y, int64_t n) {
  with_scaling(input_scaling(p.multiplier_a, p.shift_a), [&](auto sa) {
    with_scaling(input_scaling(p.multiplier_b, p.shift_b), [&](auto sb) {
      if (p.output_shift < 0) add_codes_neon<decltype(sa)::value, decltype(sb)::value, true>(p, a, b, y, n);
      else add_codes_neon<decltype(sa)::value, decltype(sb)::value, false>(p, a, b, y, n);
    });
  });
}

class ArmCodeAdd : public CodeAddKernel {
 public:
  explicit ArmCodeAdd(const CodeAddition& p) : p_(p) {}
  bool run(const Tensor& a, const Tensor& b, float output_scale, Tensor& dst) override {
    const NhwcCodes* x = nhwc_codes(a);
    const NhwcCodes* z = nhwc_codes(b);
    // the NEON form shifts right only (TFLite's Add multipliers are below one but for extreme scales)
    if (!x || !z || a.shape != b.shape || p_.shift_a > 0 || p_.shift_b > 0 || p_.output_shift > 0 || p_.left_shift != 20)
      return false;
    auto out = std::make_shared<NhwcCodes>(a.shape, output_scale, p_.output_zero);
    add_codes_neon(p_, x->data(), z->data(), out->data(), x->n * x->c * x->h * x->w);
    dst = codes_tensor(a.shape, std::move(out));
    return true;
  }

 private:
  const CodeAddition p_;
};

}  // namespace

std::unique_ptr<CodeAddKernel> make_code_add(const CodeAddition& p) { return std::make_unique<ArmCodeAdd>(p); }

}  // namespace edgequant::engine::arm
