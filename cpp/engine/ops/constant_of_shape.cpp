// ConstantOfShape: a tensor of the shape given by input 0 (1-D int64) filled with the one value of
// attribute `value` (float32 0 by default; an integer or bool value gives an int64 tensor).
#include <algorithm>

#include "ops/op.h"

namespace edgequant::engine {
namespace {

class ConstantOfShape : public Op {
 public:
  explicit ConstantOfShape(const Node& node) : Op(node) {
    check(node.inputs.size() == 1 && node.outputs.size() == 1, "expects 1 input, 1 output");
    if (node.has("value")) {
      const Attribute& a = node.attributes.at("value");
      check(a.kind == Attribute::Kind::tensor && a.tensor.numel() == 1, "'value' must be a one-element tensor");
      value_ = a.tensor;
    } else {
      value_ = Tensor::zeros_f32({1});
    }
  }

  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& shape_input = input(inputs, 0);
    check(shape_input.dtype == DType::i64 && shape_input.rank() == 1, "input 0 must be a 1-D int64 shape");
    const Shape shape = shape_input.as_i64();
    for (int64_t d : shape) check(d >= 0, [&] { return "negative dimension in shape " + shape_string(shape); });
    outputs[0] = empty_like(value_.dtype, shape, description());
    const int64_t n = outputs[0].numel();
    if (value_.dtype == DType::f32) std::fill(outputs[0].f(), outputs[0].f() + n, value_.f()[0]);
    else std::fill(outputs[0].i(), outputs[0].i() + n, value_.i()[0]);
  }

 private:
  Tensor value_;
};

}  // namespace

std::unique_ptr<Op> make_constant_of_shape(const Node& node, const Graph&) {
  return std::make_unique<ConstantOfShape>(node);
}

}  // namespace edgequant::engine
