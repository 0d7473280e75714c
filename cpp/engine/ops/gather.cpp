// Gather along one axis with int64 indices (negative indices count from the end); u8 codes are
// picked as codes (a quantized model's channel shuffle picks its halves so).
#include "ops/layout.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

class Gather : public Op {
 public:
  explicit Gather(const Node& node) : Op(node), axis_attr_(node.attr_i("axis", 0)) {
    check(node.inputs.size() == 2 && node.outputs.size() == 1, "expects 2 inputs, 1 output");
  }
  Int8Traits int8_traits() const override {
    Int8Traits traits;
    traits.passes_u8 = true;
    traits.u8_inputs = {0};
    return traits;
  }
  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    Tensor codes;
    const Tensor& x = plain_data(input(inputs, 0), codes, description());
    const Tensor& idx = input(inputs, 1);
    check(x.rank() >= 1, "data must have rank >= 1");
    const int axis = axis_of(axis_attr_, x.rank());
    const std::vector<int64_t> indices = idx.as_i64();
    const int64_t dim = x.shape[axis];
    Shape out(x.shape.begin(), x.shape.begin() + axis);
    out.insert(out.end(), idx.shape.begin(), idx.shape.end());
    out.insert(out.end(), x.shape.begin() + axis + 1, x.shape.end());
    outputs[0] = empty_as(x, out, description());
    const size_t es = element_size(x);
    const int64_t outer = span(x.shape, 0, axis), inner = span(x.shape, axis + 1, x.shape.size()) * es;
    const int64_t count = static_cast<int64_t>(indices.size());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < count; ++j) {
        int64_t i = indices[j] < 0 ? indices[j] + dim : indices[j];
        check(i >= 0 && i < dim, [&] { return "index " + std::to_string(indices[j]) + " is out of range for an axis of " +
                                     std::to_string(dim); });
        std::memcpy(raw_data(outputs[0]) + (o * count + j) * inner, raw_data(x) + (o * dim + i) * inner, inner);
      }
  }

 private:
  int64_t axis_attr_;
};

}  // namespace

std::unique_ptr<Op> make_gather(const Node& node, const Graph&) { return std::make_unique<Gather>(node); }

}  // namespace edgequant::engine
