// Size: the input's element count as an int64 scalar.
#include "ops/op.h"

namespace edgequant::engine {
namespace {

class Size : public Op {
 public:
  explicit Size(const Node& node) : Op(node) {
    check(node.inputs.size() == 1 && node.outputs.size() == 1, "expects 1 input, 1 output");
  }
  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    outputs[0] = Tensor::from_i64({input(inputs, 0).numel()});
    outputs[0].shape = {};
  }
};

}  // namespace

std::unique_ptr<Op> make_size(const Node& node, const Graph&) { return std::make_unique<Size>(node); }

}  // namespace edgequant::engine
