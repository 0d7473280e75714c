// Split along one axis, by the 'split' sizes (attribute before opset 13, input after) or evenly.
// An input left in the backend's own layout (a conv output) is split there, into parts in that
// layout, by the backend's kernel where it has one and the split points suit it.
#include "ops/layout.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

class Split : public Op {
 public:
  explicit Split(const Node& node) : Op(node) {
    check(!node.inputs.empty() && !node.outputs.empty(), "expects an input and outputs");
    axis_attr_ = node.attr_i("axis", 0);
    sizes_attr_ = node.attr_ints("split");
  }
  Int8Traits int8_traits() const override {
    Int8Traits traits;
    traits.passes_u8 = true;  // its backend kernel moves u8 parts unchanged
    traits.u8_inputs = {0};
    return traits;
  }
  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = input(inputs, 0);
    const int axis = axis_of(axis_attr_, x.rank());
    std::vector<int64_t> sizes = sizes_attr_;
    if (inputs.size() > 1 && inputs[1]) sizes = int_values(inputs, 1);
    const int64_t parts = static_cast<int64_t>(outputs.size()), dim = x.shape[axis];
    if (sizes.empty()) {
      check(dim % parts == 0, [&] { return "axis of length " + std::to_string(dim) + " does not split evenly in " + std::to_string(parts); });
      sizes.assign(parts, dim / parts);
    }
    check(static_cast<int64_t>(sizes.size()) == parts, "split sizes and outputs differ in number");
    int64_t total = 0;
    for (int64_t s : sizes) {
      check(s >= 0, "negative split size");
      check(s <= dim - total, [&] { return "split sizes sum to more than the axis length " + std::to_string(dim); });  // no overflow
      total += s;
    }
    check(total == dim, [&] { return "split sizes sum to " + std::to_string(total) + ", axis has " + std::to_string(dim); });
    if (x.native) {
      if (!kernel_built_) {
        kernel_ = ctx.backend.split();
        kernel_built_ = true;
      }
      if (kernel_ && kernel_->run(x, axis, sizes, outputs)) return;
    }
    const size_t es = element_size(x);
    const int64_t outer = span(x.shape, 0, axis), inner = span(x.shape, axis + 1, x.shape.size());
    int64_t offset = 0;
    for (int64_t p = 0; p < parts; ++p) {
      Shape shape = x.shape;
      shape[axis] = sizes[p];
      outputs[p] = empty_as(x, shape, description());  // codes stay codes, a backend layout is read as float
      const int64_t row = sizes[p] * inner * es, in_row = dim * inner * es;
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(raw_data(outputs[p]) + o * row, raw_data(x) + o * in_row + offset, row);
      offset += row;
    }
  }

 private:
  int64_t axis_attr_;
  std::vector<int64_t> sizes_attr_;
  bool kernel_built_ = false;
  std::unique_ptr<SplitKernel> kernel_;
};

}  // namespace

std::unique_ptr<Op> make_split(const Node& node, const Graph&) { return std::make_unique<Split>(node); }

}  // namespace edgequant::engine
