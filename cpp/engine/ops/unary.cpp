// Elementwise float ops with no constant inputs: Relu, Sigmoid, HardSigmoid, HardSwish, Swish
// (opset 24; also what graph/activation_patterns.h makes of x·sigmoid(x)), Exp, and
// the pass-throughs Identity / Dropout (inference: Dropout is the identity; its optional mask
// output is never produced, and the engine refuses a model that reads it). Sigmoid runs the
// backend's kernel where it offers one, the loop here (the reference) otherwise.
#include <cmath>

#include "ops/op.h"

namespace edgequant::engine {
namespace {

class Unary : public Op {
 public:
  explicit Unary(const Node& node) : Op(node) {
    check(node.inputs.size() >= 1 && !node.outputs.empty(), "expects an input and an output");
    alpha_ = node.attr_f("alpha", node.op_type == "Swish" ? 1.f : 0.2f);
    beta_ = node.attr_f("beta", 0.5f);
  }
  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = input(inputs, 0);
    const std::string& op = node_.op_type;
    if (op == "Dropout" && inputs.size() > 2 && inputs[2] != nullptr) {
      // training_mode (bool, held as int64 0/1): true means random dropping, which inference does not do
      for (int64_t v : inputs[2]->as_i64()) check(v == 0, "training_mode=true is not supported (inference only)");
    }
    if (op == "Identity" || op == "Dropout") {
      outputs[0] = x;
      return;
    }
    check(x.dtype == DType::f32, "expects a float input");
    outputs[0] = Tensor::unspecified_f32(x.shape, description());  // every element written below
    const float* in = x.f();
    float* out = outputs[0].f();
    const int64_t n = x.numel();
    if (op == "Relu") {
      for (int64_t k = 0; k < n; ++k) out[k] = in[k] > 0 ? in[k] : 0;
    } else if (op == "Sigmoid") {
      if (!kernel_built_) {
        kernel_ = ctx.backend.sigmoid();
        kernel_built_ = true;
      }
      if (kernel_) return kernel_->run(in, out, n);
      for (int64_t k = 0; k < n; ++k) out[k] = 1 / (1 + std::exp(-in[k]));
    } else if (op == "HardSigmoid") {
      for (int64_t k = 0; k < n; ++k) out[k] = std::min(1.f, std::max(0.f, alpha_ * in[k] + beta_));
    } else if (op == "HardSwish") {
      // The fused kernels' formula (backend.h), so a fused HardSwish gives the same values.
      Activation act;
      act.kind = Activation::Kind::hardswish;
      act.alpha = 1.f / 6;
      act.beta = 0.5f;
      for (int64_t k = 0; k < n; ++k) out[k] = apply_activation(act, in[k]);
    } else if (op == "Swish") {
      for (int64_t k = 0; k < n; ++k) out[k] = in[k] / (1 + std::exp(-alpha_ * in[k]));
    } else if (op == "Exp") {
      for (int64_t k = 0; k < n; ++k) out[k] = std::exp(in[k]);
    }
  }

 private:
  float alpha_, beta_;
  bool kernel_built_ = false;
  std::unique_ptr<UnaryKernel> kernel_;
};

}  // namespace

std::unique_ptr<Op> make_unary(const Node& node, const Graph&) { return std::make_unique<Unary>(node); }

}  // namespace edgequant::engine
