// A fully connected layer with constant weights: y = act(x · Wᵀ + b), W [n, k]. Shared by Gemm
// and MatMul, which differ only in how they reach this form.
#pragma once
#include "graph/qdq.h"
#include "ops/op.h"

namespace edgequant::engine {

class DenseLayer {
 public:
  DenseLayer() = default;
  // `given_scales`: the quantized model's scale per output column (graph/qdq.h), or {}.
  DenseLayer(std::vector<float> weights_nk, std::vector<float> bias, int64_t k, int64_t n, Activation act,
             std::vector<float> given_scales = {})
      : weights_(std::move(weights_nk)), bias_(std::move(bias)), given_scales_(std::move(given_scales)), k_(k), n_(n),
        act_(act) {}
  int64_t k() const { return k_; }
  int64_t n() const { return n_; }
  void set_quantization(const QuantConfig& q) {
    if (q.mode == QuantConfig::Mode::f32 && weights_.empty())
      throw InvalidArgument("float weights were released: INT8 only");
    quant_ = q;
    if (q.mode != QuantConfig::Mode::f32) {
      if (q.weights) quantized_ = q.weights;  // another session's layer quantized them already
      if (!quantized_ || quantized_->bits != q.weight_bits) {
        if (weights_.empty()) throw InvalidArgument("float weights were released: the INT8 weights keep their grid");
        quantized_ = std::make_shared<QuantizedWeights>(
            quantize_weights(weights_.data(), n_, k_, given_scales_, q.weight_bits));
      }
      quant_.weights = quantized_;
    }
    kernel_.reset();
  }
  void release_float_weights() {
    if (quant_.mode == QuantConfig::Mode::f32) throw InvalidArgument("float weights are released only in an INT8 mode");
    std::vector<float>().swap(weights_);
  }
  std::shared_ptr<const QuantizedWeights> quantized() const {
    return quant_.mode == QuantConfig::Mode::f32 ? nullptr : quantized_;
  }
  QuantConfig::Mode mode() const { return quant_.mode; }
  void run(Backend& backend, const float* x, int64_t m, float* y) {
    if (m == 0) return;
    if (!kernel_ || m != m_) {
      kernel_ = backend.dense(m, k_, n_, weights_.empty() ? nullptr : weights_.data(),
                              bias_.empty() ? nullptr : bias_.data(), act_, quant_);
      m_ = m;
    }
    kernel_->run(x, y);
  }

 private:
  std::vector<float> weights_, bias_, given_scales_;
  std::shared_ptr<const QuantizedWeights> quantized_;
  int64_t k_ = 0, n_ = 0, m_ = -1;
  Activation act_;
  QuantConfig quant_;
  std::unique_ptr<DenseKernel> kernel_;
};

}  // namespace edgequant::engine
