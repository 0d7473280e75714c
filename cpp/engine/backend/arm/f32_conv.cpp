// The ARM backend's FP32 convolution and dense kernels: NHWC rows into the NEON GEMM
// (f32_gemm.h), depthwise as a direct loop over 4 channels per vector, then bias, activation and
// the residual sum as ConvPostOps says. Float accumulation in a different order from the
// reference backend's double sums: equal within float rounding (tests state the tolerance).
#include <arm_neon.h>

#include <memory>
#include <vector>

#include "backend/arm/arm_kernels.h"
#include "backend/arm/dispatch.h"
#include "backend/arm/epilogue.h"
#include "backend/arm/f32_gemm.h"
#include "backend/arm/layout.h"

namespace edgequant::engine::arm {
namespace {

class ArmF32Conv : public ConvKernel {
 public:
  ArmF32Conv(const ConvGeometry& g, const float* w, const float* b, const ConvPostOps& post, ThreadCount threads)
      : g_(g), post_(post), threads_(threads) {
    const int64_t icg = g.ic / g.groups, ocg = g.oc / g.groups, k = icg * g.kh * g.kw;
    bias_.assign(static_cast<size_t>(g.oc), 0.f);
    if (b) bias_.assign(b, b + g.oc);
    const std::vector<float> khwc = weights_khwc<float>(w, g);
    if (is_depthwise(g)) {  // [tap][channel]
      dw_.resize(static_cast<size_t>(g.kh * g.kw * g.oc));
      for (int64_t c = 0; c < g.oc; ++c)
        for (int64_t t = 0; t < g.kh * g.kw; ++t) dw_[t * g.oc + c] = khwc[c * g.kh * g.kw + t];
      return;
    }
    for (int64_t group = 0; group < g.groups; ++group) packed_.push_back(pack_f32(khwc.data() + group * ocg * k, ocg, k));
  }

  void run(const float* src, float* dst) override {
    const int64_t hw = g_.ih * g_.iw, m = g_.oh * g_.ow;
    std::vector<float> x(static_cast<size_t>(g_.n * hw * g_.ic));
    to_nhwc(src, g_.n, g_.ic, hw, x.data());
    std::vector<float> acc(static_cast<size_t>(m * g_.oc));
    for (int64_t n = 0; n < g_.n; ++n) {
      const float* image = x.data() + n * hw * g_.ic;
      if (dw_.empty()) gemm_image(image, acc.data());
      else depthwise_image(image, acc.data());
      float* out = dst + n * g_.oc * m;
      parallel_chunks(threads_, m, 16, [&](int64_t p0, int64_t p1) { epilogue_rows(acc.data(), p0, p1, out); });
    }
  }

 private:
  // bias, activation [, + residual (dst on entry), after_sum] of pixels [p0, p1), into NCHW.
  void epilogue_rows(const float* acc, int64_t p0, int64_t p1, float* dst) const {
    const int64_t m = g_.oh * g_.ow, oc4 = g_.oc / 4 * 4, channels = g_.oc;
    const float* bias = bias_.data();
    const Activation act = post_.activation;
    if (!post_.sum) {
      with_activation(act, [&](auto kind) {
        for (int64_t p = p0; p < p1; ++p) {
          const float* row = acc + p * channels;
          float* y = dst + p;
          for (int64_t oc = 0; oc < oc4; oc += 4, y += 4 * m)
            store_strided(y, m, activate_as<decltype(kind)::value>(act, vaddq_f32(vld1q_f32(row + oc), vld1q_f32(bias + oc))));
        }
      });
    }
    for (int64_t p = p0; p < p1; ++p) {
      const float* row = acc + p * g_.oc;
      for (int64_t oc = post_.sum ? 0 : oc4; oc < oc4; oc += 4) {
        float32x4_t v = activate(post_.activation, vaddq_f32(vld1q_f32(row + oc), vld1q_f32(bias_.data() + oc)));
        float* y = dst + oc * m + p;
        if (post_.sum) {
          const float r[4] = {y[0], y[m], y[2 * m], y[3 * m]};
          v = activate(post_.after_sum, vaddq_f32(v, vld1q_f32(r)));
        }
        store_strided(y, m, v);
      }
      for (int64_t oc = oc4; oc < g_.oc; ++oc) {
        const float v = apply_activation(post_.activation, row[oc] + bias_[oc]);
        float& y = dst[oc * m + p];
        y = post_.sum ? apply_activation(post_.after_sum, v + y) : v;
      }
    }
  }

  void gemm_image(const float* x, float* acc) {
    const int64_t icg = g_.ic / g_.groups, ocg = g_.oc / g_.groups, k = icg * g_.kh * g_.kw, m = g_.oh * g_.ow;
    for (int64_t group = 0; group < g_.groups; ++group)
      parallel_chunks(threads_, m, 8, [&](int64_t r0, int64_t r1) {
        std::vector<float> cols;
        std::vector<const float*> rows(static_cast<size_t>(r1 - r0));
        if (is_pointwise(g_)) {
          for (int64_t r = r0; r < r1; ++r) rows[r - r0] = x + r * g_.ic;
        } else {
          cols.resize(static_cast<size_t>((r1 - r0) * k));
          im2col_rows<float>(x, g_, group, 0.f, r0, r1, k, cols.data());
          for (int64_t r = r0; r < r1; ++r) rows[r - r0] = cols.data() + (r - r0) * k;
        }
        f32_gemm(rows.data(), r1 - r0, packed_[group], acc + r0 * g_.oc + group * ocg, g_.oc);
      });
  }

  void depthwise_image(const float* x, float* acc) {
    const int64_t ch = g_.oc;
    parallel_chunks(threads_, g_.oh, 1, [&](int64_t oh0, int64_t oh1) {
      for_each_depthwise_pixel(g_, x, dw_.data(), oh0, oh1,
                               [&](const float* const* taps, const float* const* wtaps, int64_t ntaps, int64_t p) {
                                 float* out = acc + p * ch;
                                 int64_t c = 0;
                                 for (; c + 8 <= ch; c += 8) {
                                   float32x4_t lo = vdupq_n_f32(0), hi = vdupq_n_f32(0);
                                   for (int64_t t = 0; t < ntaps; ++t) {
                                     lo = vfmaq_f32(lo, vld1q_f32(taps[t] + c), vld1q_f32(wtaps[t] + c));
                                     hi = vfmaq_f32(hi, vld1q_f32(taps[t] + c + 4), vld1q_f32(wtaps[t] + c + 4));
                                   }
                                   vst1q_f32(out + c, lo);
                                   vst1q_f32(out + c + 4, hi);
                                 }
                                 for (; c < ch; ++c) {
                                   float s = 0;
                                   for (int64_t t = 0; t < ntaps; ++t) s += taps[t][c] * wtaps[t][c];
                                   out[c] = s;
                                 }
                               });
    });
  }

  ConvGeometry g_;
  ConvPostOps post_;
  ThreadCount threads_;
  std::vector<float> bias_, dw_;
  std::vector<PackedF32> packed_;
};

class ArmF32Dense : public DenseKernel {
 public:
  ArmF32Dense(int64_t m, int64_t k, int64_t n, const float* w, const float* b, const Activation& act, ThreadCount threads)
      : m_(m), k_(k), n_(n), act_(act), threads_(threads), bias_(static_cast<size_t>(n), 0.f),
        packed_(pack_f32(w, n, k)) {
    if (b) bias_.assign(b, b + n);
  }
  void run(const float* src, float* dst) override {
    std::vector<const float*> rows(static_cast<size_t>(m_));
    for (int64_t i = 0; i < m_; ++i) rows[i] = src + i * k_;
    parallel_chunks(threads_, m_, 8, [&](int64_t r0, int64_t r1) {
      f32_gemm(rows.data() + r0, r1 - r0, packed_, dst + r0 * n_, n_);
    });
    for (int64_t i = 0; i < m_ * n_; ++i) dst[i] = apply_activation(act_, dst[i] + bias_[i % n_]);
  }

 private:
  int64_t m_, k_, n_;
  Activation act_;
  ThreadCount threads_;
  std::vector<float> bias_;
  PackedF32 packed_;
};

}  // namespace

std::unique_ptr<ConvKernel> make_f32_conv(const ConvGeometry& g, const float* w, const float* b,
                                          const ConvPostOps& post, ThreadCount threads) {
  return std::make_unique<ArmF32Conv>(g, w, b, post, threads);
}

std::unique_ptr<DenseKernel> make_f32_dense(int64_t m, int64_t k, int64_t n, const float* w, const float* b,
                                            const Activation& act, ThreadCount threads) {
  return std::make_unique<ArmF32Dense>(m, k, n, w, b, act, threads);
}

}  // namespace edgequant::engine::arm
