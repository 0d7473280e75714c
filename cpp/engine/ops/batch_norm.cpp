// BatchNormalization (inference) that the Conv fold could not absorb: y = x·a[c] + b[c] with
// a = gamma / sqrt(var + eps), b = beta − mean·a, precomputed from the constant statistics.
#include <cmath>

#include "ops/op.h"

namespace edgequant::engine {
namespace {

class BatchNorm : public Op {
 public:
  BatchNorm(const Node& node, const Graph& graph) : Op(node) {
    check(node.inputs.size() == 5 && node.outputs.size() >= 1, "expects 5 inputs");
    std::vector<const Tensor*> p;
    for (int k = 1; k < 5; ++k) {
      check(graph.is_constant(node.inputs[k]), "scale, bias, mean and var must be initializers");
      p.push_back(&graph.initializers.at(node.inputs[k]));
      check(p.back()->dtype == DType::f32 && p.back()->numel() == p[0]->numel(), "parameters must be float, one per channel");
    }
    const float eps = node.attr_f("epsilon", 1e-5f);
    const int64_t c = p[0]->numel();
    scale_.resize(c);
    shift_.resize(c);
    for (int64_t k = 0; k < c; ++k) {
      scale_[k] = p[0]->f()[k] / std::sqrt(p[3]->f()[k] + eps);
      shift_[k] = p[1]->f()[k] - p[2]->f()[k] * scale_[k];
    }
  }
  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = float_input(inputs, 0);
    check(x.rank() >= 2 && x.shape[1] == static_cast<int64_t>(scale_.size()), "input channels disagree with the parameters");
    outputs[0] = Tensor::unspecified_f32(x.shape, description());  // every element written below
    const int64_t c = x.shape[1], inner = x.numel() / std::max<int64_t>(x.shape[0] * c, 1);
    const float* src = x.f();
    float* dst = outputs[0].f();
    for (int64_t n = 0; n < x.shape[0]; ++n)
      for (int64_t k = 0; k < c; ++k) {
        // a channel's factors in registers: a store through `out` could otherwise change them
        const float a = scale_[k], b = shift_[k];
        const float* in = src + (n * c + k) * inner;
        float* out = dst + (n * c + k) * inner;
        for (int64_t i = 0; i < inner; ++i) out[i] = in[i] * a + b;
      }
  }

 private:
  std::vector<float> scale_, shift_;
};

}  // namespace

std::unique_ptr<Op> make_batch_norm(const Node& node, const Graph& graph) { return std::make_unique<BatchNorm>(node, graph); }

}  // namespace edgequant::engine
