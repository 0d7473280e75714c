// The reference backend: plain loops written from the ONNX operator definitions, no blocking, no
// SIMD intrinsics. Slow on purpose-built hardware, but obviously right: tests hold the oneDNN
// backend (and, later, the ARM kernels) against it.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "backend/registry.h"
#include "backend/fixed_point_requantization.h"
#include "backend/int8_support.h"
#include "backend/runtime_c_conv.h"
#include "backend/vector_exp.h"
#include "common/error.h"

namespace edgequant::engine {

namespace {
float activation_only(const Activation& act, float x) {
  switch (act.kind) {
    case Activation::Kind::relu: return x > 0 ? x : 0;
    case Activation::Kind::clip: return std::min(std::max(x, act.lo), act.hi);
    case Activation::Kind::swish: return x / (1 + exp_lane(-x));  // the engine's one e^x (vector_exp.h)
    case Activation::Kind::hardsigmoid: return std::min(1.f, std::max(0.f, act.alpha * x + act.beta));
    case Activation::Kind::hardswish: return x * std::min(1.f, std::max(0.f, act.alpha * x + act.beta));
    case Activation::Kind::gelu: return gelu_lane(x);  // the engine's one GELU (vector_exp.h), as the Gelu op
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

  // A sum kernel reads its residual from dst on entry. Integer requantization gives the codes'
  // values on the output grid.
  void run(const float* src, float* dst) override {
    if (q_.fixed_point) {  // runtime/c's kernel, its codes' values on the output grid
      std::vector<uint8_t> codes = encode_input(src), out(static_cast<size_t>(g_.n * g_.oc * g_.oh * g_.ow));
      if (run_on_runtime_c(g_, q_, qweights_, codes.data(), out.data())) {
        for (size_t k = 0; k < out.size(); ++k) dst[k] = decode_output(q_, out[k]);
        return;
      }
    }
    const quant::Affine ra(activation_format(), quant::AffineParams{q_.residual_scale, q_.residual_zero_point});
    compute(src, nullptr, [&](int64_t k, int64_t oc, double acc, int64_t iacc) {
      if (!q_.fixed_point) dst[k] = value(oc, acc, post_.sum ? residual(dst[k]) : 0.f);
      else if (q_.fixed_point->residual) dst[k] = decode_output(q_, residual_output_code(*q_.fixed_point, oc, iacc, ra.encode(dst[k])));
      else dst[k] = decode_output(q_, output_code(*q_.fixed_point, oc, iacc));
    });
  }

  // Static INT8 with quantized neighbours: u8 codes of this layer's grid are read as they are, and
  // a layer whose readers all take u8 (QuantConfig::quantize_output) writes u8 codes on their grid
  // — by TFLite's integer requantization where the plan prepared it (QuantConfig::fixed_point: with
  // runtime/c's reference kernels, runtime_c_conv.h), else encoding its float value — the residual
  // it adds held as u8 codes too.
  void run(const Tensor& src, const Tensor* residual_tensor, bool, Tensor& dst, const Shape& dst_shape) override {
    const bool fixed = q_.mode == QuantConfig::Mode::int8_static;
    const uint8_t* codes = fixed && src.holds_u8(q_.scale, q_.zero_point) ? src.u8() : nullptr;
    const float* x = codes ? nullptr : src.f();
    const Tensor* r = residual_tensor;
    const bool residual_codes = r && fixed && q_.quantize_output && r->holds_u8(q_.residual_scale, q_.residual_zero_point);
    const float* r_values = r && !residual_codes ? r->f() : nullptr;
    const quant::Affine ra(activation_format(), quant::AffineParams{q_.residual_scale, q_.residual_zero_point});
    auto residual_at = [&](int64_t k) {
      if (!post_.sum) return 0.f;
      if (residual_codes) return static_cast<float>(ra.scale * (r->u8()[k] - ra.zero_point));
      return r_values ? residual(r_values[k]) : 0.f;
    };
    if (fixed && q_.quantize_output) {
      dst = Tensor::quantized(DType::u8, dst_shape, QuantParams::per_tensor(q_.output_scale, q_.output_zero_point),
                              "conv output");
      if (q_.fixed_point) {  // the microcontroller runtime's own reference kernel, where it has one
        std::vector<uint8_t> staged;
        if (!codes) staged = encode_input(x);
        if (run_on_runtime_c(g_, q_, qweights_, codes ? codes : staged.data(), dst.u8())) return;
      }
      const quant::Affine out(activation_format(), quant::AffineParams{q_.output_scale, q_.output_zero_point});
      uint8_t* y = dst.u8();
      // the residual's u8 code: as it is, or a float residual rounded to its grid as residual_at does
      auto residual_code = [&](int64_t k) { return residual_codes ? int32_t{r->u8()[k]} : ra.encode(r_values[k]); };
      compute(x, codes, [&](int64_t k, int64_t oc, double acc, int64_t iacc) {
        if (!q_.fixed_point) y[k] = static_cast<uint8_t>(out.encode(value(oc, acc, residual_at(k))));
        else if (q_.fixed_point->residual)
          y[k] = static_cast<uint8_t>(residual_output_code(*q_.fixed_point, oc, iacc, residual_code(k)));
        else y[k] = static_cast<uint8_t>(output_code(*q_.fixed_point, oc, iacc));
      });
      return;
    }
    dst = Tensor::zeros_f32(dst_shape, "conv output");
    float* y = dst.f();
    compute(x, codes, [&](int64_t k, int64_t oc, double acc, int64_t) { y[k] = value(oc, acc, residual_at(k)); });
  }

 private:
  // A static layer's float input as u8 codes on its grid (quant::Affine::encode, as compute() does).
  std::vector<uint8_t> encode_input(const float* src) const {
    const quant::Affine a(activation_format(), quant::AffineParams{q_.scale, q_.zero_point});
    std::vector<uint8_t> codes(static_cast<size_t>(g_.n * g_.ic * g_.ih * g_.iw));
    for (size_t k = 0; k < codes.size(); ++k) codes[k] = static_cast<uint8_t>(a.encode(src[k]));
    return codes;
  }

  // Output value of channel oc from its (dequantized) sum: bias, activation, residual, activation.
  float value(int64_t oc, double acc, float residual) const {
    const float v = apply_activation(post_.activation, static_cast<float>(acc + bias_[oc]));
    return post_.sum ? apply_activation(post_.after_sum, v + residual) : v;
  }

  // Every output's sums, NCHW order, to emit(index, channel, sum, integer sum): the float sum
  // (INT8: the integer one dequantized) and the integer sum Σ (q − z)·w. The source as float32
  // `src`, or (static INT8) as u8 `codes` on the layer's grid.
  template <class Emit>
  void compute(const float* src, const uint8_t* codes, const Emit& emit) const {
    const bool int8 = q_.mode != QuantConfig::Mode::f32;
    std::vector<int32_t> qsrc;
    double in_scale = 1;
    int32_t in_zero = 0;
    const int64_t n_src = g_.n * g_.ic * g_.ih * g_.iw;
    if (int8) {  // x = s·(q − z): integer convolution of (q − z) with the s8 weights
      const quant::Affine a = codes ? quant::Affine(activation_format(), quant::AffineParams{q_.scale, q_.zero_point})
                                    : input_affine(q_, src, n_src);
      in_scale = a.scale;
      in_zero = a.zero_point;
      qsrc.resize(static_cast<size_t>(n_src));
      for (int64_t k = 0; k < n_src; ++k) qsrc[k] = codes ? codes[k] : a.encode(src[k]);
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
            emit(((n * g_.oc + oc) * g_.oh + oh) * g_.ow + ow, oc, acc, iacc);
          }
      }
  }

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
    pool<double>(src, -std::numeric_limits<double>::infinity(), [&](int64_t k, double v, int64_t count) {
      dst[k] = static_cast<float>(g_.kind == PoolGeometry::Kind::max ? v : (count ? v / count : 0));
    });
  }
  // Max pooling of u8 codes: the code of the maximum is the maximum of the codes (q -> s·(q − z) is
  // increasing), so the output is codes on the same grid, unless a window holds no input element.
  void run(const Tensor& src, Tensor& dst, const Shape& dst_shape) override {
    if (g_.kind != PoolGeometry::Kind::max || src.dtype != DType::u8 || !src.bytes || src.native ||
        !src.quant.single() || !every_window_has_input(g_)) {
      PoolKernel::run(src, dst, dst_shape);
      return;
    }
    dst = Tensor::quantized(DType::u8, dst_shape, src.quant, "pool output");
    uint8_t* y = dst.u8();
    pool<int32_t>(src.u8(), -1, [&](int64_t k, int32_t v, int64_t) { y[k] = static_cast<uint8_t>(v); });
  }

 private:
  // Each window's max (or sum and element count) from `src` to emit(index, value, count).
  template <class Acc, class T, class Emit>
  void pool(const T* src, Acc lowest, const Emit& emit) const {
    const bool is_max = g_.kind == PoolGeometry::Kind::max;
    for (int64_t nc = 0; nc < g_.n * g_.c; ++nc)
      for (int64_t oh = 0; oh < g_.oh; ++oh)
        for (int64_t ow = 0; ow < g_.ow; ++ow) {
          Acc acc = is_max ? lowest : 0;
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
              const Acc v = static_cast<Acc>(src[(nc * g_.ih + ih) * g_.iw + iw]);
              acc = is_max ? std::max(acc, v) : acc + v;
              ++count;
            }
          emit((nc * g_.oh + oh) * g_.ow + ow, acc, count);
        }
  }

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
