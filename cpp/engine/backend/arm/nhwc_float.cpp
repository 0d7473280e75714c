// A model's NHWC float input kept NHWC and quantized as it lies. A TFLite-derived model starts with a
// Transpose of its NHWC image to NCHW and, quantized, a pair on the first conv's grid: the values
// went to NCHW planes, were quantized there, and the first INT8 conv moved the codes back to NHWC
// (MLPerf Tiny VWW, 96x96x3: ~105 K instructions of its ~2.1 M on a Cortex-A76). Here the Transpose
// copies the image as it lies (NhwcFloat) and the pair writes NhwcCodes straight from it.
#include <arm_neon.h>

#include <cstring>
#include <memory>

#include "backend/arm/arm_kernels.h"
#include "backend/arm/nhwc_codes.h"
#include "backend/arm/nhwc_float.h"

namespace edgequant::engine::arm {
namespace {

// 16 values to s8 codes q − 128, q = clamp(round(x / s) + z, 0, 255) as QuantizeLinear gives them
// (ops/quantize_linear.cpp: the division, rounding half to even, then the zero point): FCVTNS
// rounds and converts (saturating), the zero point is added saturating, and two saturating narrows
// clamp to the s8 range. `seen` keeps NaN once a NaN went through (FMAX propagates it).
inline int8x16_t codes16(const float* x, float32x4_t scale, int32x4_t zero, float32x4_t& seen) {
  int32x4_t q[4];
  for (int j = 0; j < 4; ++j) {
    const float32x4_t v = vld1q_f32(x + 4 * j);
    seen = vmaxq_f32(seen, v);
    q[j] = vqaddq_s32(vcvtnq_s32_f32(vdivq_f32(v, scale)), zero);
  }
  const int16x8_t lo = vqmovn_high_s32(vqmovn_s32(q[0]), q[1]), hi = vqmovn_high_s32(vqmovn_s32(q[2]), q[3]);
  return vqmovn_high_s16(vqmovn_s16(lo), hi);
}

// out[k] = q − 128 for n values; false where one is NaN. The last values go through a padded step of
// the same arithmetic (no second, scalar form to keep equal).
bool quantize_shifted(const float* in, int8_t* out, int64_t n, float s, int32_t z) {
  const float32x4_t scale = vdupq_n_f32(s);
  const int32x4_t zero = vdupq_n_s32(z - 128);
  float32x4_t seen = vdupq_n_f32(0.f);
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) vst1q_s8(out + k, codes16(in + k, scale, zero, seen));
  if (k < n) {
    float last[16] = {};
    int8_t codes[16];
    std::memcpy(last, in + k, static_cast<size_t>(n - k) * sizeof(float));
    vst1q_s8(codes, codes16(last, scale, zero, seen));
    std::memcpy(out + k, codes, static_cast<size_t>(n - k));
  }
  return vminvq_u32(vceqq_f32(seen, seen)) != 0;
}

}  // namespace

std::shared_ptr<NativeData> NhwcFloat::quantized(float scale, int32_t zero_point) const {
  if (n * c * h * w == 0 || zero_point < 0 || zero_point > 255) return nullptr;
  auto codes = std::make_shared<NhwcCodes>(Shape{n, c, h, w}, scale, zero_point);
  if (!quantize_shifted(values.data(), codes->data(), n * c * h * w, scale, zero_point)) return nullptr;
  return codes;
}

std::shared_ptr<NativeData> nhwc_image(const float* values, const Shape& nchw) {
  if (nchw.size() != 4) return nullptr;
  auto image = std::make_shared<NhwcFloat>(nchw);
  std::memcpy(image->data(), values, static_cast<size_t>(nchw[0] * nchw[1] * nchw[2] * nchw[3]) * sizeof(float));
  return image;
}

}  // namespace edgequant::engine::arm
