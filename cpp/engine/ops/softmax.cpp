// Softmax and LogSoftmax. Opset >= 13 normalises along `axis` (default -1); before 13 the input
// is viewed as 2-D [prod(shape[:axis]), prod(shape[axis:])] (default axis 1). Either way the op
// runs on the [outer, len, inner] view: the backend's kernel where it offers one, else the loop
// here, from the definition (the reference the backends' kernels are tested against).
#include <cmath>
#include <tuple>

#include "ops/layout.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

class Softmax : public Op {
 public:
  Softmax(const Node& node, const Graph& graph) : Op(node) {
    check(node.inputs.size() == 1 && node.outputs.size() == 1, "expects 1 input, 1 output");
    legacy_ = graph.opset < 13;
    axis_ = node.attr_i("axis", legacy_ ? 1 : -1);
    log_ = node.op_type == "LogSoftmax";
  }
  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = float_input(inputs, 0);
    check(x.rank() >= 1, "expects rank >= 1");
    const int axis = axis_of(axis_, x.rank());
    int64_t outer, len, inner;
    if (legacy_) {
      outer = span(x.shape, 0, axis);
      len = span(x.shape, axis, x.shape.size());
      inner = 1;
    } else {
      outer = span(x.shape, 0, axis);
      len = x.shape[axis];
      inner = span(x.shape, axis + 1, x.shape.size());
    }
    outputs[0] = Tensor::unspecified_f32(x.shape, description());  // every element written below
    if (outer * len * inner == 0) return;
    if (!kernel_built_ || view_ != std::make_tuple(outer, len, inner)) {
      kernel_ = ctx.backend.softmax(outer, len, inner, log_);
      view_ = {outer, len, inner};
      kernel_built_ = true;
    }
    if (kernel_) return kernel_->run(x.f(), outputs[0].f());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        const float* in = x.f() + o * len * inner + i;
        float* out = outputs[0].f() + o * len * inner + i;
        float peak = -INFINITY;
        for (int64_t k = 0; k < len; ++k) peak = std::max(peak, in[k * inner]);
        double sum = 0;
        for (int64_t k = 0; k < len; ++k) sum += std::exp(static_cast<double>(in[k * inner]) - peak);
        for (int64_t k = 0; k < len; ++k) {
          const double shifted = static_cast<double>(in[k * inner]) - peak;
          out[k * inner] = static_cast<float>(log_ ? shifted - std::log(sum) : std::exp(shifted) / sum);
        }
      }
  }

 private:
  bool legacy_, log_;
  int64_t axis_;
  bool kernel_built_ = false;
  std::tuple<int64_t, int64_t, int64_t> view_;
  std::unique_ptr<SoftmaxKernel> kernel_;
};

}  // namespace

std::unique_ptr<Op> make_softmax(const Node& node, const Graph& graph) { return std::make_unique<Softmax>(node, graph); }

}  // namespace edgequant::engine
