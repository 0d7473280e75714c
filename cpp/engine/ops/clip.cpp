// Clip: min/max from attributes (opset < 11) or constant inputs (opset >= 11).
#include <limits>

#include "ops/op.h"

namespace edgequant::engine {
namespace {

class Clip : public Op {
 public:
  Clip(const Node& node, const Graph& graph) : Op(node) {
    lo_ = node.attr_f("min", -std::numeric_limits<float>::infinity());
    hi_ = node.attr_f("max", std::numeric_limits<float>::infinity());
    for (size_t k = 1; k < node.inputs.size() && k < 3; ++k) {
      if (node.inputs[k].empty()) continue;
      check(graph.is_constant(node.inputs[k]), "min and max must be initializers");
      const Tensor& t = graph.initializers.at(node.inputs[k]);
      check(t.numel() == 1, "min and max must be scalars");
      (k == 1 ? lo_ : hi_) = t.as_f32()[0];
    }
  }
  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = float_input(inputs, 0);
    outputs[0] = Tensor::unspecified_f32(x.shape, description());  // every element written below
    const int64_t n = x.numel();
    for (int64_t k = 0; k < n; ++k) outputs[0].f()[k] = std::min(std::max(x.f()[k], lo_), hi_);
  }

 private:
  float lo_, hi_;
};

}  // namespace

std::unique_ptr<Op> make_clip(const Node& node, const Graph& graph) { return std::make_unique<Clip>(node, graph); }

}  // namespace edgequant::engine
