// Hardmax: 1 at the first maximum along `axis`, 0 elsewhere. Opset >= 13 takes `axis` (default
// -1); before 13 the input is viewed as 2-D [prod(shape[:axis]), prod(shape[axis:])] (default axis
// 1), as Softmax. NaN is never the maximum (ONNX Runtime's comparison); a row of NaN marks its
// first element.
#include <cmath>

#include "ops/layout.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

class Hardmax : public Op {
 public:
  Hardmax(const Node& node, const Graph& graph) : Op(node) {
    check(node.inputs.size() == 1 && node.outputs.size() == 1, "expects 1 input, 1 output");
    legacy_ = graph.opset < 13;
    axis_ = node.attr_i("axis", legacy_ ? 1 : -1);
  }
  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = float_input(inputs, 0);
    check(x.rank() >= 1, "expects rank >= 1");
    const int axis = axis_of(axis_, x.rank());
    const int64_t outer = span(x.shape, 0, axis);
    const int64_t len = legacy_ ? span(x.shape, axis, x.shape.size()) : x.shape[axis];
    const int64_t inner = legacy_ ? 1 : span(x.shape, axis + 1, x.shape.size());
    outputs[0] = Tensor::zeros_f32(x.shape, description());
    if (outer * len * inner == 0) return;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        const float* in = x.f() + o * len * inner + i;
        int64_t best = 0;
        for (int64_t k = 1; k < len; ++k)
          if (in[k * inner] > in[best * inner] || (std::isnan(in[best * inner]) && !std::isnan(in[k * inner]))) best = k;
        outputs[0].f()[(o * len + best) * inner + i] = 1;
      }
  }

 private:
  bool legacy_;
  int64_t axis_;
};

}  // namespace

std::unique_ptr<Op> make_hardmax(const Node& node, const Graph& graph) { return std::make_unique<Hardmax>(node, graph); }

}  // namespace edgequant::engine
