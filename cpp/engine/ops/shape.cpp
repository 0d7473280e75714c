// Shape: the input's dims as a 1-D int64 tensor (opset-15 start / end supported).
#include "ops/op.h"

namespace edgequant::engine {
namespace {

class ShapeOp : public Op {
 public:
  explicit ShapeOp(const Node& node) : Op(node) {}
  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = input(inputs, 0);
    const int64_t rank = x.rank();
    int64_t start = node_.attr_i("start", 0), end = node_.attr_i("end", rank);
    if (start < 0) start += rank;
    if (end < 0) end += rank;
    start = std::min(std::max<int64_t>(start, 0), rank);
    end = std::min(std::max<int64_t>(end, start), rank);
    outputs[0] = Tensor::from_i64(std::vector<int64_t>(x.shape.begin() + start, x.shape.begin() + end));
  }
};

}  // namespace

std::unique_ptr<Op> make_shape(const Node& node, const Graph&) { return std::make_unique<ShapeOp>(node); }

}  // namespace edgequant::engine
