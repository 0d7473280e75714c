// The reference backend: plain loops written from the ONNX operator definitions, no blocking, no
// SIMD intrinsics. Slow on purpose-built hardware, but obviously right: tests hold the oneDNN
// backend (and, later, the ARM kernels) against it.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "backend/registry.h"
#include "backend/int8_support.h"
#include "common/error.h"

namespace edgequant::engine {

namespace {
float activation_only(const Activation& act, float x) {
  switch (act.kind) {
    case Activation::Kind::relu: return x > 0 ? x : 0;
    case Activation::Kind::clip: return std::min(std::max(x, act.lo), act.hi);
    case Activation::Kind::swish: return x / (1 + std::exp(-x));
    case Activation::Kind::hardsigmoid: return std::min(1.f, std::max(0.f, act.alpha * x + act.beta));
    case Activation::Kind::hardswish: return x * std::min(1.f, std::max(0.f, act.alpha * x + act.beta));
    default: return x;
  }
}
}  // namespace

float apply_activation(const Activation& act, float x) {
  const float y = activation_only(act, x);
  if (!act.has_affine()) return y;
  const float scaled = y * act.scale;  // rounded before the add, as a separate Mul then Add would be
  return scaled + act.shift;
}

namespace {

class ReferenceConv : public ConvKernel {
 public:
  ReferenceConv(const ConvGeometry& g, const float* w, const float* b, const ConvPostOps& post, const QuantConfig& q)
      : g_(g), post_(post), q_(q) {
    const int64_t per_oc = g.ic / g.groups * g.kh * g.kw;
    bias_.assign(static_cast<size_t>(g.oc), 0.f);
    if (b) bias_.assign(b, b + g.oc);
    if (q.mode == QuantConfig::Mode::f32) weights_.assign(w, w + g.oc * per_oc);
    else qweights_ = q.weights ? *q.weights : quantize_weights(w, g.oc, per_oc, q.weight_bits);
  }

  void run(const float* src, float* dst) override {
    const bool int8 = q_.mode != QuantConfig::Mode::f32;
    std::vector<int32_t> qsrc;
    double in_scale = 1;
    int32_t in_zero = 0;
    if (int8) {  // x = s·(q − z): integer convolution of (q − z) with the s8 weights
      const int64_t n = g_.n * g_.ic * g_.ih * g_.iw;
      const quant::Affine a = input_affine(q_, src, n);
      in_scale = a.scale;
      in_zero = a.zero_point;
      qsrc.resize(static_cast<size_t>(n));
      for (int64_t k = 0; k < n; ++k) qsrc[k] = a.encode(src[k]);
    }
    const int64_t icg = g_.ic / g_.groups, ocg = g_.oc / g_.groups;
    for (int64_t n = 0; n < g_.n; ++n)
      for (int64_t oc = 0; oc < g_.oc; ++oc) {
        const int64_t group = oc / ocg;
        for (int64_t oh = 0; oh < g_.oh; ++oh)
          for (int64_t ow = 0; ow < g_.ow; ++ow) {
            double acc = 0;
            int64_t iacc = 0;
            for (int64_t c = 0; c < icg; ++c)
              for (int64_t kh = 0; kh < g_.kh; ++kh) {
                const int64_t ih = oh * g_.stride_h - g_.pad_top + kh * g_.dilation_h;
                if (ih < 0 || ih >= g_.ih) continue;
                for (int64_t kw = 0; kw < g_.kw; ++kw) {
                  const int64_t iw = ow * g_.stride_w - g_.pad_left + kw * g_.dilation_w;
                  if (iw < 0 || iw >= g_.iw) continue;
                  const int64_t s = ((n * g_.ic + group * icg + c) * g_.ih + ih) * g_.iw + iw;
                  const int64_t w = ((oc * icg + c) * g_.kh + kh) * g_.kw + kw;
                  if (int8) iacc += static_cast<int64_t>(qsrc[s] - in_zero) * qweights_.values[w];
                  else acc += static_cast<double>(src[s]) * weights_[w];
                }
              }
            if (int8) acc = static_cast<double>(iacc) * in_scale * qweights_.scales[oc];
            float& y = dst[((n * g_.oc + oc) * g_.oh + oh) * g_.ow + ow];
            const float v = apply_activation(post_.activation, static_cast<float>(acc + bias_[oc]));
            y = post_.sum ? apply_activation(post_.after_sum, v + residual(y)) : v;
          }
      }
  }

 private:
  // A static conv writing u8 holds its residual as u8 in its destination (the oneDNN backend's
  // sum post-op reads it back): the same rounding of the residual here.
  float residual(float r) const {
    if (!post_.sum || q_.mode != QuantConfig::Mode::int8_static || !q_.quantize_output) return r;
    const quant::Affine a(activation_format(), quant::AffineParams{q_.residual_scale, q_.residual_zero_point});
    return static_cast<float>(a.scale * (a.encode(r) - a.zero_point));
  }

  ConvGeometry g_;
  ConvPostOps post_;
  QuantConfig q_;
  std::vector<float> weights_, bias_;
  QuantizedWeights qweights_;
};

class ReferenceDense : public DenseKernel {
 public:
  ReferenceDense(int64_t m, int64_t k, int64_t n, const float* w, const float* b, const Activation& act,
                 const QuantConfig& q)
      : m_(m), k_(k), n_(n), act_(act), q_(q), bias_(static_cast<size_t>(n), 0.f) {
    if (b) bias_.assign(b, b + n);
    if (q.mode == QuantConfig::Mode::f32) weights_.assign(w, w + n * k);
    else qweights_ = q.weights ? *q.weights : quantize_weights(w, n, k, q.weight_bits);
  }
  void run(const float* src, float* dst) override {
    const bool int8 = q_.mode != QuantConfig::Mode::f32;
    quant::Affine a(activation_format(), quant::AffineParams{1, 0});
    if (int8) a = input_affine(q_, src, m_ * k_);
    for (int64_t i = 0; i < m_; ++i)
      for (int64_t j = 0; j < n_; ++j) {
        double acc = 0;
        int64_t iacc = 0;
        for (int64_t p = 0; p < k_; ++p) {
          if (int8) iacc += static_cast<int64_t>(a.encode(src[i * k_ + p]) - a.zero_point) * qweights_.values[j * k_ + p];
          else acc += static_cast<double>(src[i * k_ + p]) * weights_[j * k_ + p];
        }
        if (int8) acc = static_cast<double>(iacc) * a.scale * qweights_.scales[j];
        dst[i * n_ + j] = apply_activation(act_, static_cast<float>(acc + bias_[j]));
      }
  }

 private:
  int64_t m_, k_, n_;
  Activation act_;
  QuantConfig q_;
  std::vector<float> weights_, bias_;
  QuantizedWeights qweights_;
};

class ReferencePool : public PoolKernel {
 public:
  explicit ReferencePool(const PoolGeometry& g) : g_(g) {}
  void run(const float* src, float* dst) override {
    const bool is_max = g_.kind == PoolGeometry::Kind::max;
    for (int64_t nc = 0; nc < g_.n * g_.c; ++nc)
      for (int64_t oh = 0; oh < g_.oh; ++oh)
        for (int64_t ow = 0; ow < g_.ow; ++ow) {
          double acc = is_max ? -std::numeric_limits<double>::infinity() : 0;
          int64_t count = 0;
          for (int64_t kh = 0; kh < g_.kh; ++kh)
            for (int64_t kw = 0; kw < g_.kw; ++kw) {
              const int64_t ih = oh * g_.stride_h - g_.pad_top + kh, iw = ow * g_.stride_w - g_.pad_left + kw;
              const bool inside = ih >= 0 && ih < g_.ih && iw >= 0 && iw < g_.iw;
              // count_include_pad counts the padding but not the window part beyond it
              const bool in_padded = ih < g_.ih + g_.pad_bottom && iw < g_.iw + g_.pad_right;
              if (!inside) {
                count += g_.count_include_pad && in_padded;
                continue;
              }
              const double v = src[(nc * g_.ih + ih) * g_.iw + iw];
              acc = is_max ? std::max(acc, v) : acc + v;
              ++count;
            }
          dst[(nc * g_.oh + oh) * g_.ow + ow] = static_cast<float>(is_max ? acc : (count ? acc / count : 0));
        }
  }

 private:
  PoolGeometry g_;
};

class ReferenceBackend : public Backend {
 public:
  std::string name() const override { return "reference"; }
  std::unique_ptr<ConvKernel> conv(const ConvGeometry& g, const float* w, const float* b, const ConvPostOps& post,
                                   const QuantConfig& q) override {
    return std::make_unique<ReferenceConv>(g, w, b, post, q);
  }
  std::unique_ptr<DenseKernel> dense(int64_t m, int64_t k, int64_t n, const float* w, const float* b,
                                     const Activation& act, const QuantConfig& q) override {
    return std::make_unique<ReferenceDense>(m, k, n, w, b, act, q);
  }
  std::unique_ptr<PoolKernel> pool(const PoolGeometry& g) override { return std::make_unique<ReferencePool>(g); }
};

}  // namespace

BackendInfo reference_backend_info() {
  return {"reference", "plain loops from the ONNX definitions: the yardstick of the tests",
          [] { return std::unique_ptr<Backend>(std::make_unique<ReferenceBackend>()); }};
}

}  // namespace edgequant::engine
