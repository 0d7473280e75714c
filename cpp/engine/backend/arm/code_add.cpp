// A quantized model's Add of two NHWC code tensors (ops/code_add.cpp) on NEON: TFLite's integer Add
// (backend/fixed_point_requantization.h add_codes) 16 codes at a time, bit for bit the scalar form,
// which also does the last few. Both tensors lie in one layout, so the sum is elementwise over
// their bytes; the output stays NHWC codes for the convs after it.
#include <arm_neon.h>

#include <memory>

#include "backend/arm/arm_kernels.h"
#include "backend/arm/fixed_point_neon.h"
#include "backend/arm/nhwc_codes.h"
#include "backend/fixed_point_requantization.h"

namespace edgequant::engine::arm {
namespace {

// One input's 8 codes, s8 form, to their scaled values: (q − z) << left_shift, times its multiplier.
struct ScaleInput {
  ScaleInput(int32_t zero, int32_t multiplier, int32_t shift)
      : zero(vdupq_n_s8(static_cast<int8_t>(zero - 128))), multiplier(vdupq_n_s32(multiplier)),
        right(vdupq_n_s32(shift)) {}
  void operator()(int8x16_t codes, int32x4_t out[4]) const {
    const int16x8_t lo = vsubl_s8(vget_low_s8(codes), vget_low_s8(zero));
    const int16x8_t hi = vsubl_high_s8(codes, zero);
    // left_shift is 20: widen by 16, then 4 more
    out[0] = multiply_high_and_shift_right4(vshlq_n_s32(vshll_n_s16(vget_low_s16(lo), 16), 4), multiplier, right);
    out[1] = multiply_high_and_shift_right4(vshlq_n_s32(vshll_high_n_s16(lo, 16), 4), multiplier, right);
    out[2] = multiply_high_and_shift_right4(vshlq_n_s32(vshll_n_s16(vget_low_s16(hi), 16), 4), multiplier, right);
    out[3] = multiply_high_and_shift_right4(vshlq_n_s32(vshll_high_n_s16(hi, 16), 4), multiplier, right);
  }
  int8x16_t zero;
  int32x4_t multiplier, right;
};

void add_codes_neon(const CodeAddition& p, const int8_t* a, const int8_t* b, int8_t* y, int64_t n) {
  const ScaleInput first(p.zero_a, p.multiplier_a, p.shift_a), second(p.zero_b, p.multiplier_b, p.shift_b);
  const int32x4_t multiplier = vdupq_n_s32(p.output_multiplier), right = vdupq_n_s32(p.output_shift);
  const int32x4_t zero = vdupq_n_s32(p.output_zero - 128);
  const int8x16_t lo = vdupq_n_s8(static_cast<int8_t>(p.min - 128)), hi = vdupq_n_s8(static_cast<int8_t>(p.max - 128));
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    int32x4_t x[4], z[4], s[4];
    first(vld1q_s8(a + k), x);
    second(vld1q_s8(b + k), z);
    for (int j = 0; j < 4; ++j) s[j] = vaddq_s32(multiply_high_and_shift_right4(vaddq_s32(x[j], z[j]), multiplier, right), zero);
    const int16x8_t low = vqmovn_high_s32(vqmovn_s32(s[0]), s[1]);
    const int16x8_t high = vqmovn_high_s32(vqmovn_s32(s[2]), s[3]);
    vst1q_s8(y + k, vminq_s8(vmaxq_s8(vqmovn_high_s16(vqmovn_s16(low), high), lo), hi));
  }
  for (; k < n; ++k) y[k] = static_cast<int8_t>(add_codes(p, a[k] + 128, b[k] + 128) - 128);
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
