// A quantized model's average pool of NHWC codes (ops/code_average_pool.cpp) on NEON: each window's
// s8 codes summed 16 channels at a time in int32 lanes (two widening adds per tap), then each
// channel's sum divided as TFLite divides (backend/fixed_point_requantization.h average_codes) — the
// division per output channel, the summing per tap is what costs. The output stays NHWC codes on the
// input's grid for the layers after it.
#include <arm_neon.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "backend/arm/arm_kernels.h"
#include "backend/arm/nhwc_codes.h"
#include "backend/fixed_point_requantization.h"

namespace edgequant::engine::arm {
namespace {

class ArmCodeAveragePool : public CodeAveragePoolKernel {
 public:
  ArmCodeAveragePool(const PoolGeometry& g, int32_t qmin) : g_(g), qmin_(qmin) {}

  bool run(const Tensor& x, Tensor& dst) override {
    const NhwcCodes* in = nhwc_codes(x);
    if (!in || in->c != g_.c || in->h != g_.ih || in->w != g_.iw) return false;
    const Shape shape{g_.n, g_.c, g_.oh, g_.ow};
    auto out = std::make_shared<NhwcCodes>(shape, in->scale, in->zero_point);
    const int64_t c = g_.c, c16 = c / 16 * 16;
    // s8 code q − 128 = c − qmin − 128: each tap adds `shift` to the file's code
    const int64_t shift = 128 + qmin_;
    std::vector<int32_t> sums(static_cast<size_t>(c));
    for (int64_t n = 0; n < g_.n; ++n)
      for (int64_t oh = 0; oh < g_.oh; ++oh) {
        const int64_t top = oh * g_.stride_h - g_.pad_top;
        const int64_t h0 = std::max<int64_t>(top, 0), h1 = std::min(top + g_.kh, g_.ih);
        for (int64_t ow = 0; ow < g_.ow; ++ow) {
          const int64_t left = ow * g_.stride_w - g_.pad_left;
          const int64_t w0 = std::max<int64_t>(left, 0), w1 = std::min(left + g_.kw, g_.iw);
          window_sums(in->data() + n * g_.ih * g_.iw * c, h0, h1, w0, w1, c16, sums.data());
          const int64_t count = (h1 - h0) * (w1 - w0);
          int8_t* y = out->data() + ((n * g_.oh + oh) * g_.ow + ow) * c;
          for (int64_t ch = 0; ch < c; ++ch)
            y[ch] = static_cast<int8_t>(average_codes(sums[ch] + shift * count, count) - shift);
        }
      }
    dst = codes_tensor(shape, std::move(out));
    return true;
  }

 private:
  // sums[ch] = Σ of the s8 codes of channel ch over the window's taps: channels [0, c16) 16 at a time.
  // int32 lanes: a window of up to 2^24 taps cannot overflow.
  void window_sums(const int8_t* image, int64_t h0, int64_t h1, int64_t w0, int64_t w1, int64_t c16,
                   int32_t* sums) const {
    const int64_t c = g_.c;
    for (int64_t block = 0; block < c16; block += 16) {
      int32x4_t a0 = vdupq_n_s32(0), a1 = a0, a2 = a0, a3 = a0;
      for (int64_t h = h0; h < h1; ++h) {
        const int8_t* pixel = image + (h * g_.iw + w0) * c + block;
        for (int64_t w = w0; w < w1; ++w, pixel += c) {
          const int8x16_t v = vld1q_s8(pixel);
          const int16x8_t lo = vmovl_s8(vget_low_s8(v)), hi = vmovl_high_s8(v);
          a0 = vaddw_s16(a0, vget_low_s16(lo));
          a1 = vaddw_high_s16(a1, lo);
          a2 = vaddw_s16(a2, vget_low_s16(hi));
          a3 = vaddw_high_s16(a3, hi);
        }
      }
      vst1q_s32(sums + block, a0), vst1q_s32(sums + block + 4, a1);
      vst1q_s32(sums + block + 8, a2), vst1q_s32(sums + block + 12, a3);
    }
    for (int64_t ch = c16; ch < c; ++ch) {  // the channels after the last 16
      int32_t s = 0;
      for (int64_t h = h0; h < h1; ++h)
        for (int64_t w = w0; w < w1; ++w) s += image[(h * g_.iw + w) * c + ch];
      sums[ch] = s;
    }
  }

  const PoolGeometry g_;
  const int32_t qmin_;
};

}  // namespace

std::unique_ptr<CodeAveragePoolKernel> make_code_average_pool(const PoolGeometry& g, int32_t qmin) {
  // int32 sums of s8 codes: windows of up to 2^24 taps (a global pool over 4096 × 4096)
  if (g.kh * g.kw > (int64_t{1} << 24)) return nullptr;
  return std::make_unique<ArmCodeAveragePool>(g, qmin);
}

}  // namespace edgequant::engine::arm
