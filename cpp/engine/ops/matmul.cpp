// MatMul (numpy semantics). A constant 2-D B runs as a dense layer over the flattened leading
// dims of A (quantizable), with the bias an Add after it gave it (graph/dense_bias_folding.h: a
// third input, `_bias`); two activations run as a plain batched loop (float32 only).
#include "ops/dense_weights.h"

namespace edgequant::engine {
namespace {

class MatMul : public Op {
 public:
  MatMul(const Node& node, const Graph& graph) : Op(node) {
    const bool has_bias = node.has("_bias");
    check(node.inputs.size() == (has_bias ? 3u : 2u) && node.outputs.size() == 1, "expects 2 inputs, 1 output");
    check(!has_bias || graph.is_constant(node.inputs[1]), "a folded bias needs constant weights");
    if (graph.is_constant(node.inputs[1]) && graph.initializers.at(node.inputs[1]).rank() == 2) {
      const Tensor& b = graph.initializers.at(node.inputs[1]);
      check(b.dtype == DType::f32, "B must be float");
      const int64_t k = b.shape[0], n = b.shape[1];
      std::vector<float> w;
      if (b.f32) {  // else released by an INT8 engine: its s8 weights come with set_quantization
        w.resize(static_cast<size_t>(n * k));
        for (int64_t j = 0; j < n; ++j)
          for (int64_t p = 0; p < k; ++p) w[j * k + p] = b.f()[p * n + j];
      }
      std::vector<float> bias;
      if (has_bias) {
        check(graph.is_constant(node.inputs[2]), "the folded bias must be a constant");
        bias = graph.initializers.at(node.inputs[2]).as_f32();
        check(static_cast<int64_t>(bias.size()) == n, "the folded bias must hold one value per output column");
        bias_rank_ = node.attr_i("_bias_rank", 1);
      }
      dense_ = DenseLayer(std::move(w), std::move(bias), k, n, fused_activation(node),
                          given_weight_scales(graph, node.inputs[1], 1, n));
      constant_b_ = true;
    }
  }

  Int8Traits int8_traits() const override {
    Int8Traits traits;
    traits.quantized = constant_b_;  // its input is read as float (quantized by the kernel)
    traits.dynamic_in_file = constant_b_ && node_.has("_dynamic_int8");  // quantize_dynamic's (graph/qdq.h)
    return traits;
  }
  void set_quantization(const QuantConfig& q) override {
    if (constant_b_) dense_.set_quantization(q);
  }
  void release_float_weights() override {
    if (constant_b_) dense_.release_float_weights();
  }
  std::shared_ptr<const QuantizedWeights> quantized_weights() const override {
    return constant_b_ ? dense_.quantized() : nullptr;
  }
  const char* precision() const override { return constant_b_ ? precision_name(dense_.mode()) : "f32"; }

  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& a = float_input(inputs, 0);
    check(a.rank() >= 1, "A must have rank >= 1");
    if (constant_b_) {
      const int64_t k = a.shape.back();
      check(k == dense_.k(), [&] { return "A's last dim is " + std::to_string(k) + ", B expects " + std::to_string(dense_.k()); });
      Shape out_shape = a.shape;
      out_shape.back() = dense_.n();
      while (static_cast<int64_t>(out_shape.size()) < bias_rank_) out_shape.insert(out_shape.begin(), 1);
      outputs[0] = Tensor::zeros_f32(out_shape, description());
      dense_.run(ctx.backend, a.f(), a.numel() / std::max<int64_t>(k, 1), outputs[0].f());
      return;
    }
    const Tensor& b = float_input(inputs, 1);
    check(a.rank() >= 2 && b.rank() >= 2, "batched MatMul of two activations needs rank >= 2 inputs");
    const int64_t m = a.shape[a.rank() - 2], k = a.shape.back(), n = b.shape.back();
    check(b.shape[b.rank() - 2] == k, [&] { return "inner dimensions disagree: " + shape_string(a.shape) + " x " + shape_string(b.shape); });
    const int64_t batch_a = a.numel() / std::max<int64_t>(m * k, 1), batch_b = b.numel() / std::max<int64_t>(k * n, 1);
    check(batch_a == batch_b || batch_b == 1 || batch_a == 1, "batch dimensions do not broadcast");
    Shape out_shape = a.rank() >= b.rank() ? a.shape : b.shape;
    out_shape[out_shape.size() - 2] = m;
    out_shape.back() = n;
    outputs[0] = Tensor::zeros_f32(out_shape, description());
    const int64_t batch = std::max(batch_a, batch_b);
    for (int64_t t = 0; t < batch; ++t) {
      const float* pa = a.f() + (batch_a == 1 ? 0 : t) * m * k;
      const float* pb = b.f() + (batch_b == 1 ? 0 : t) * k * n;
      float* pc = outputs[0].f() + t * m * n;
      for (int64_t i = 0; i < m; ++i)
        for (int64_t p = 0; p < k; ++p)
          for (int64_t j = 0; j < n; ++j) pc[i * n + j] += pa[i * k + p] * pb[p * n + j];
    }
  }

 private:
  bool constant_b_ = false;
  int64_t bias_rank_ = 0;  // the folded bias Add's rank (graph/dense_bias_folding.h)
  DenseLayer dense_;
};

}  // namespace

std::unique_ptr<Op> make_matmul(const Node& node, const Graph& graph) { return std::make_unique<MatMul>(node, graph); }

}  // namespace edgequant::engine
