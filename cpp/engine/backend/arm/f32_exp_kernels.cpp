// Sigmoid and Softmax on NEON: e^x as backend/vector_exp.h's exp_lane computes it (the same range
// reduction and Cephes polynomial, NaN kept), four lanes in intrinsics. GCC vectorised exp_lane's
// selects into ~29 instructions per value here (NaN-aware masks for every clamp); the intrinsics
// take ~7. Values differ from the portable kernels by the fused multiply-adds' rounding (an ulp or
// two); YOLOv8's head (80 class sigmoids and the box softmax per anchor) is where it counts.
#include <arm_neon.h>

#include <algorithm>
#include <memory>

#include "backend/arm/arm_kernels.h"
#include "backend/arm/partial_lanes.h"
#include "backend/portable_kernels.h"
#include "backend/vector_exp.h"

namespace edgequant::engine::arm {
namespace {

// e^x on 4 lanes: n = round(x / ln 2) (ties away from zero), r = x − n·ln 2 in two parts, e^r by the
// polynomial, times 2^(n/2)·2^(n − n/2). The clamps keep NaN (FMAX / FMIN propagate it); FCVTAS
// turns NaN into n = 0 and r stays NaN.
inline float32x4_t exp4(float32x4_t x) {
  x = vminq_f32(vmaxq_f32(x, vdupq_n_f32(kExpLow)), vdupq_n_f32(kExpHigh));
  const int32x4_t whole = vcvtaq_s32_f32(vmulq_n_f32(x, 1.44269504088896341f));
  const float32x4_t n = vcvtq_f32_s32(whole);
  float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));
  r = vfmaq_f32(r, n, vdupq_n_f32(2.12194440e-4f));
  float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
  p = vfmaq_f32(vdupq_n_f32(1.3981999507e-3f), p, r);
  p = vfmaq_f32(vdupq_n_f32(8.3334519073e-3f), p, r);
  p = vfmaq_f32(vdupq_n_f32(4.1665795894e-2f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.6666665459e-1f), p, r);
  p = vfmaq_f32(vdupq_n_f32(5.0000001201e-1f), p, r);
  p = vaddq_f32(vfmaq_f32(r, vmulq_f32(p, r), r), vdupq_n_f32(1.f));
  const int32x4_t half = vshrq_n_s32(whole, 1);
  const int32x4_t bias = vdupq_n_s32(127);
  const float32x4_t low = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(half, bias), 23));
  const float32x4_t high = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vsubq_s32(whole, half), bias), 23));
  return vmulq_f32(vmulq_f32(p, low), high);
}

// Calls f(x) on `count` values 4 at a time, the last 1-3 through a padded vector (the same lanes).
template <class F>
inline void by_fours(const float* src, float* dst, int64_t count, F&& f) {
  int64_t k = 0;
  for (; k + 4 <= count; k += 4) vst1q_f32(dst + k, f(vld1q_f32(src + k)));
  if (k < count) store_lanes(dst + k, f(load_lanes(src + k, count - k)), count - k);
}

class ArmSigmoid : public UnaryKernel {
 public:
  void run(const float* src, float* dst, int64_t count) override {
    const float32x4_t one = vdupq_n_f32(1.f);
    by_fours(src, dst, count, [&](float32x4_t x) { return vdivq_f32(one, vaddq_f32(one, exp4(vnegq_f32(x)))); });
  }
};

// Softmax along `len` (stride `inner`) with 4 columns as the lanes: the portable kernel's passes (the
// largest value, where NaN is skipped as there; e^(x − max) and their sum; times 1 / sum), each
// column group's values in L1 between them. A row (inner 1) and log-softmax: the portable kernel.
class ArmSoftmax : public SoftmaxKernel {
 public:
  ArmSoftmax(int64_t outer, int64_t len, int64_t inner) : outer_(outer), len_(len), inner_(inner) {}
  void run(const float* src, float* dst) override {
    for (int64_t o = 0; o < outer_; ++o) {
      const float* x = src + o * len_ * inner_;
      float* y = dst + o * len_ * inner_;
      int64_t j = 0;
      for (; j + 4 <= inner_; j += 4) columns(x + j, y + j, 4);
      if (j < inner_) columns(x + j, y + j, inner_ - j);
    }
  }

 private:
  // `width` (1-4) columns from x, along len.
  void columns(const float* x, float* y, int64_t width) const {
    auto load = [&](const float* p) { return width == 4 ? vld1q_f32(p) : load_lanes(p, width); };
    auto store = [&](float* p, float32x4_t v) { width == 4 ? vst1q_f32(p, v) : store_lanes(p, v, width); };
    float32x4_t peak = vdupq_n_f32(-INFINITY), total = vdupq_n_f32(0.f);
    for (int64_t k = 0; k < len_; ++k) {
      const float32x4_t v = load(x + k * inner_);
      peak = vbslq_f32(vcgtq_f32(v, peak), v, peak);  // v > peak: a NaN v is skipped
    }
    for (int64_t k = 0; k < len_; ++k) {
      const float32x4_t e = exp4(vsubq_f32(load(x + k * inner_), peak));
      total = vaddq_f32(total, e);
      store(y + k * inner_, e);
    }
    const float32x4_t scale = vdivq_f32(vdupq_n_f32(1.f), total);
    for (int64_t k = 0; k < len_; ++k) store(y + k * inner_, vmulq_f32(load(y + k * inner_), scale));
  }

  int64_t outer_, len_, inner_;
};

// Softmax of rows of 2-4 values (inner 1: a detector's per-box class scores): four rows at a time,
// de-interleaved by one LD2 / LD3 / LD4 so that each lane is a row, then the portable kernel's steps
// for a row shorter than its 16 lanes (the largest value from −inf, NaN skipped; e^(x − max) summed
// in order from 0; times 1 / sum); the last rows by the portable kernel itself.
template <int kLen>
class ArmShortRowSoftmax : public SoftmaxKernel {
 public:
  explicit ArmShortRowSoftmax(int64_t outer) : outer_(outer), rest_(make_portable_softmax(outer % 4, kLen, 1, false)) {}
  void run(const float* src, float* dst) override {
    const int64_t body = outer_ / 4 * 4;
    for (int64_t o = 0; o < body; o += 4) {
      float32x4_t v[kLen];
      load(src + o * kLen, v);
      float32x4_t peak = vdupq_n_f32(-INFINITY), total = vdupq_n_f32(0.f);
      for (int k = 0; k < kLen; ++k) peak = vbslq_f32(vcgtq_f32(v[k], peak), v[k], peak);  // v > peak
      for (int k = 0; k < kLen; ++k) {
        v[k] = exp4(vsubq_f32(v[k], peak));
        total = vaddq_f32(total, v[k]);
      }
      const float32x4_t scale = vdivq_f32(vdupq_n_f32(1.f), total);
      for (int k = 0; k < kLen; ++k) v[k] = vmulq_f32(v[k], scale);
      store(dst + o * kLen, v);
    }
    if (body < outer_) rest_->run(src + body * kLen, dst + body * kLen);
  }

 private:
  static void load(const float* p, float32x4_t (&v)[kLen]) {
    if constexpr (kLen == 2) {
      const float32x4x2_t t = vld2q_f32(p);
      v[0] = t.val[0], v[1] = t.val[1];
    } else if constexpr (kLen == 3) {
      const float32x4x3_t t = vld3q_f32(p);
      v[0] = t.val[0], v[1] = t.val[1], v[2] = t.val[2];
    } else {
      const float32x4x4_t t = vld4q_f32(p);
      v[0] = t.val[0], v[1] = t.val[1], v[2] = t.val[2], v[3] = t.val[3];
    }
  }
  static void store(float* p, const float32x4_t (&v)[kLen]) {
    if constexpr (kLen == 2) vst2q_f32(p, float32x4x2_t{{v[0], v[1]}});
    else if constexpr (kLen == 3) vst3q_f32(p, float32x4x3_t{{v[0], v[1], v[2]}});
    else vst4q_f32(p, float32x4x4_t{{v[0], v[1], v[2], v[3]}});
  }

  int64_t outer_;
  std::unique_ptr<SoftmaxKernel> rest_;
};

}  // namespace

std::unique_ptr<UnaryKernel> make_sigmoid() { return std::make_unique<ArmSigmoid>(); }

std::unique_ptr<SoftmaxKernel> make_softmax(int64_t outer, int64_t len, int64_t inner, bool log) {
  if (!log && inner == 1 && len == 2) return std::make_unique<ArmShortRowSoftmax<2>>(outer);
  if (!log && inner == 1 && len == 3) return std::make_unique<ArmShortRowSoftmax<3>>(outer);
  if (!log && inner == 1 && len == 4) return std::make_unique<ArmShortRowSoftmax<4>>(outer);
  if (log || inner == 1) return make_portable_softmax(outer, len, inner, log);
  return std::make_unique<ArmSoftmax>(outer, len, inner);
}

}  // namespace edgequant::engine::arm
