// Gemm: Y = alpha·A'·B' + beta·C with a constant B (and C), run as a dense layer; alpha and beta
// are folded into the weights and bias at load time. transA transposes the input at run time.
#include "ops/dense_weights.h"

namespace edgequant::engine {
namespace {

class Gemm : public Op {
 public:
  Gemm(const Node& node, const Graph& graph) : Op(node) {
    check(node.inputs.size() >= 2 && node.inputs.size() <= 3 && node.outputs.size() == 1, "expects 2-3 inputs, 1 output");
    check(graph.is_constant(node.inputs[1]), "B must be an initializer (activation x activation Gemm is not supported)");
    const Tensor& b = graph.initializers.at(node.inputs[1]);
    check(b.dtype == DType::f32 && b.rank() == 2, "B must be a 2-D float tensor");
    trans_a_ = node.attr_i("transA", 0) != 0;
    const bool trans_b = node.attr_i("transB", 0) != 0;
    const float alpha = node.attr_f("alpha", 1), beta = node.attr_f("beta", 1);
    const int64_t k = trans_b ? b.shape[1] : b.shape[0], n = trans_b ? b.shape[0] : b.shape[1];
    std::vector<float> w;
    if (b.f32) {  // else released by an INT8 engine: its s8 weights come with set_quantization
      w.resize(static_cast<size_t>(n * k));
      for (int64_t j = 0; j < n; ++j)
        for (int64_t p = 0; p < k; ++p) w[j * k + p] = alpha * (trans_b ? b.f()[j * k + p] : b.f()[p * n + j]);
    }
    std::vector<float> bias;
    if (node.inputs.size() == 3 && !node.inputs[2].empty()) {
      check(graph.is_constant(node.inputs[2]), "C must be an initializer");
      const Tensor& c = graph.initializers.at(node.inputs[2]);
      check(c.dtype == DType::f32, "C must be float");
      const int64_t count = c.numel();
      check(count == n || count == 1, "C must broadcast along the output columns (shape [n] or [1, n])");
      bias.resize(static_cast<size_t>(n));
      for (int64_t j = 0; j < n; ++j) bias[j] = beta * c.f()[count == 1 ? 0 : j];
    }
    dense_ = DenseLayer(std::move(w), std::move(bias), k, n, fused_activation(node),
                        alpha == 1 ? given_weight_scales(graph, node.inputs[1], trans_b ? 0 : 1, n) : std::vector<float>());
  }

  Int8Traits int8_traits() const override {
    Int8Traits traits;
    traits.quantized = true;  // its input is read as float (quantized by the kernel)
    return traits;
  }
  void set_quantization(const QuantConfig& q) override { dense_.set_quantization(q); }
  void release_float_weights() override { dense_.release_float_weights(); }
  std::shared_ptr<const QuantizedWeights> quantized_weights() const override { return dense_.quantized(); }
  const char* precision() const override { return precision_name(dense_.mode()); }

  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& a = float_input(inputs, 0);
    check(a.rank() == 2, [&] { return "A must be 2-D, got shape " + shape_string(a.shape); });
    const int64_t m = trans_a_ ? a.shape[1] : a.shape[0], k = trans_a_ ? a.shape[0] : a.shape[1];
    check(k == dense_.k(), [&] { return "A has " + std::to_string(k) + " columns, B expects " + std::to_string(dense_.k()); });
    const float* x = a.f();
    std::vector<float> transposed;
    if (trans_a_) {
      transposed.resize(static_cast<size_t>(m * k));
      for (int64_t i = 0; i < m; ++i)
        for (int64_t p = 0; p < k; ++p) transposed[i * k + p] = a.f()[p * m + i];
      x = transposed.data();
    }
    outputs[0] = Tensor::zeros_f32({m, dense_.n()}, description());
    dense_.run(ctx.backend, x, m, outputs[0].f());
  }

 private:
  bool trans_a_ = false;
  DenseLayer dense_;
};

}  // namespace

std::unique_ptr<Op> make_gemm(const Node& node, const Graph& graph) { return std::make_unique<Gemm>(node, graph); }

}  // namespace edgequant::engine
