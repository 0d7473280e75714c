// The ARM backend's FP32 convolution and dense kernels: NHWC rows into the NEON GEMM
// (f32_gemm.h) or the depthwise kernel (f32_depthwise.h), then bias, activation and the residual
// sum as ConvPostOps says, in place. Float accumulation in a different order from the
// reference backend's double sums: equal within float rounding (tests state the tolerance).
#include <arm_neon.h>

#include <memory>
#include <vector>

#include "backend/arm/arm_kernels.h"
#include "backend/arm/dispatch.h"
#include "backend/arm/epilogue.h"
#include "backend/arm/f32_depthwise.h"
#include "backend/arm/f32_gemm.h"
#include "backend/arm/layout.h"
#include "backend/arm/nhwc_float.h"
#include "backend/arm/scratch.h"

namespace edgequant::engine::arm {
namespace {

class ArmF32Conv : public ConvKernel {
 public:
  ArmF32Conv(const ConvGeometry& g, const float* w, const float* b, const ConvPostOps& post, ThreadCount threads)
      : g_(g), post_(post), threads_(threads) {
    const int64_t icg = g.ic / g.groups, ocg = g.oc / g.groups, k = icg * g.kh * g.kw;
    bias_.assign(static_cast<size_t>(g.oc + 8), 0.f);  // the GEMM's epilogue reads whole panels of 8
    if (b) std::copy(b, b + g.oc, bias_.begin());
    const std::vector<float> khwc = weights_khwc<float>(w, g);
    if (is_depthwise(g)) {
      std::vector<float> dw(static_cast<size_t>(g.kh * g.kw * g.oc));  // [tap][channel]
      for (int64_t c = 0; c < g.oc; ++c)
        for (int64_t t = 0; t < g.kh * g.kw; ++t) dw[t * g.oc + c] = khwc[c * g.kh * g.kw + t];
      depthwise_ = std::make_unique<F32Depthwise>(g, dw.data());
      epilogue_ = F32Epilogue{bias_.data(), post_.activation};
      return;
    }
    for (int64_t group = 0; group < g.groups; ++group) packed_.push_back(pack_f32(khwc.data() + group * ocg * k, ocg, k));
  }

  // NCHW in and out (a sum adds what dst holds on entry): staged through NHWC.
  void run(const float* src, float* dst) override {
    const int64_t hw = g_.ih * g_.iw, m = g_.oh * g_.ow;
    Scratch<float> x(g_.n * hw * g_.ic), y(g_.n * m * g_.oc), residual(post_.sum ? g_.n * m * g_.oc : 0);
    to_nhwc(src, g_.n, g_.ic, hw, x.data());
    if (post_.sum) to_nhwc(dst, g_.n, g_.oc, m, residual.data());
    run_nhwc(x.data(), residual.data(), y.data());
    to_nchw(y.data(), g_.n, g_.oc, m, dst);
  }

  // The source and residual as an earlier ARM FP32 kernel left them (NhwcFloat) or plain; the
  // output NHWC (NhwcFloat), which the next ARM conv reads as it is.
  void run(const Tensor& src, const Tensor* residual, bool, Tensor& dst, const Shape& shape) override {
    Scratch<float> staged, staged_residual;
    const float* x = nhwc_values(src, staged);
    const float* r = post_.sum ? nhwc_values(*residual, staged_residual) : nullptr;
    auto out = std::make_shared<NhwcFloat>(shape);
    run_nhwc(x, r, out->data());
    dst = nhwc_tensor(shape, std::move(out));
  }

 private:
  // NHWC x to NHWC y: the products straight into y with bias and activation applied in registers;
  // with a residual, the products first, then bias, activation, + residual, after_sum in place.
  void run_nhwc(const float* x, const float* residual, float* y) {
    const int64_t hw = g_.ih * g_.iw, m = g_.oh * g_.ow;
    for (int64_t n = 0; n < g_.n; ++n) {
      const float* image = x + n * hw * g_.ic;
      float* out = y + n * m * g_.oc;
      const bool fused = !residual;
      if (!depthwise_) gemm_image(image, out, fused);
      else depthwise_->image(image, threads_, out, fused ? &epilogue_ : nullptr);
      if (fused) continue;
      const float* r = residual + n * m * g_.oc;
      parallel_chunks(threads_, m, 16, [&](int64_t p0, int64_t p1) { epilogue_rows(out, r, p0, p1); });
    }
  }

  // Pixels [p0, p1) of y (NHWC), in place: bias, activation [, + residual r (NHWC), after_sum].
  void epilogue_rows(float* y, const float* r, int64_t p0, int64_t p1) const {
    const int64_t channels = g_.oc, oc4 = channels / 4 * 4;
    const float* bias = bias_.data();
    const Activation act = post_.activation;  // a local: the stores through y cannot alias it
    if (!r && !act.has_affine()) {  // the common case, its constants in registers
      with_activation(act, [&](auto kind) {
        constexpr Activation::Kind kKind = decltype(kind)::value;
        const float32x4_t lo = vdupq_n_f32(act.lo), hi = vdupq_n_f32(act.hi);
        for (int64_t p = p0; p < p1; ++p) {
          float* row = y + p * channels;
          for (int64_t oc = 0; oc < oc4; oc += 4) {
            float32x4_t v = vaddq_f32(vld1q_f32(row + oc), vld1q_f32(bias + oc));
            if constexpr (kKind == Activation::Kind::relu) {
              v = vmaxnmq_f32(v, vdupq_n_f32(0));  // v > 0 ? v : 0 (epilogue.h activate_as)
            } else if constexpr (kKind == Activation::Kind::clip) {  // std::min(std::max(x, lo), hi)
              v = vbslq_f32(vcltq_f32(v, lo), lo, v);
              v = vbslq_f32(vcltq_f32(hi, v), hi, v);
            } else if constexpr (kKind != Activation::Kind::none) {
              v = activate_as<kKind>(act, v);
            }
            vst1q_f32(row + oc, v);
          }
          for (int64_t oc = oc4; oc < channels; ++oc) row[oc] = apply_activation(act, row[oc] + bias[oc]);
        }
      });
      return;
    }
    with_activation(post_.activation, [&](auto kind) {
      constexpr Activation::Kind kKind = decltype(kind)::value;
      for (int64_t p = p0; p < p1; ++p) {
        float* row = y + p * channels;
        const float* residual = r ? r + p * channels : nullptr;
        for (int64_t oc = 0; oc < oc4; oc += 4) {
          float32x4_t v = activate_as<kKind>(post_.activation, vaddq_f32(vld1q_f32(row + oc), vld1q_f32(bias + oc)));
          if (residual) v = activate(post_.after_sum, vaddq_f32(v, vld1q_f32(residual + oc)));
          vst1q_f32(row + oc, v);
        }
        for (int64_t oc = oc4; oc < channels; ++oc) {
          const float v = apply_activation(post_.activation, row[oc] + bias[oc]);
          row[oc] = residual ? apply_activation(post_.after_sum, v + residual[oc]) : v;
        }
      }
    });
  }

  void gemm_image(const float* x, float* acc, bool with_epilogue) {
    const int64_t icg = g_.ic / g_.groups, ocg = g_.oc / g_.groups, k = icg * g_.kh * g_.kw, m = g_.oh * g_.ow;
    for (int64_t group = 0; group < g_.groups; ++group)
      parallel_chunks(threads_, m, 8, [&](int64_t r0, int64_t r1) {
        const F32Epilogue epilogue{bias_.data() + group * ocg, post_.activation};
        Scratch<float> cols;
        std::vector<const float*> rows(static_cast<size_t>(r1 - r0));
        if (is_pointwise(g_)) {
          for (int64_t r = r0; r < r1; ++r) rows[r - r0] = x + r * g_.ic;
        } else {
          cols = Scratch<float>((r1 - r0) * k);
          im2col_rows<float>(x, g_, group, 0.f, r0, r1, k, cols.data());
          for (int64_t r = r0; r < r1; ++r) rows[r - r0] = cols.data() + (r - r0) * k;
        }
        f32_gemm(rows.data(), r1 - r0, packed_[group], acc + r0 * g_.oc + group * ocg, g_.oc,
                 with_epilogue ? &epilogue : nullptr);
      });
  }

  ConvGeometry g_;
  ConvPostOps post_;
  ThreadCount threads_;
  std::vector<float> bias_;
  std::unique_ptr<F32Depthwise> depthwise_;  // or the GEMM
  F32Epilogue epilogue_{};                    // the depthwise kernel's: bias_ and the activation
  std::vector<PackedF32> packed_;
};

class ArmF32Dense : public DenseKernel {
 public:
  ArmF32Dense(int64_t m, int64_t k, int64_t n, const float* w, const float* b, const Activation& act, ThreadCount threads)
      : m_(m), k_(k), n_(n), act_(act), threads_(threads), bias_(static_cast<size_t>(n + 8), 0.f),
        packed_(pack_f32(w, n, k)) {
    if (b) std::copy(b, b + n, bias_.begin());  // 8 floats of slack: the epilogue reads whole panels
  }
  void run(const float* src, float* dst) override {
    std::vector<const float*> rows(static_cast<size_t>(m_));
    for (int64_t i = 0; i < m_; ++i) rows[i] = src + i * k_;
    const F32Epilogue epilogue{bias_.data(), act_};
    parallel_chunks(threads_, m_, 8, [&](int64_t r0, int64_t r1) {
      f32_gemm(rows.data() + r0, r1 - r0, packed_, dst + r0 * n_, n_, &epilogue);
    });
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
