// Expand: broadcast the input to a shape (input 1, 1-D int64), bidirectionally: the output shape is
// the broadcast of the input's shape and the given one, so a 1 in the given shape keeps the input's dim.
#include <cstring>

#include "ops/broadcasting.h"
#include "ops/layout.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

class Expand : public Op {
 public:
  explicit Expand(const Node& node) : Op(node) {
    check(node.inputs.size() == 2 && node.outputs.size() == 1, "expects 2 inputs, 1 output");
  }

  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = input(inputs, 0);
    const Tensor& shape_input = input(inputs, 1);
    check(shape_input.dtype == DType::i64 && shape_input.rank() == 1, "input 1 must be a 1-D int64 shape");
    const Shape target = shape_input.as_i64();
    for (int64_t d : target) check(d >= 0, [&] { return "negative dimension in shape " + shape_string(target); });
    Shape out;
    const std::string why = broadcast_shapes({x.shape, target}, out);
    check(why.empty(), why);
    if (out == x.shape) {
      outputs[0] = x;  // nothing to expand: shared data
      return;
    }
    outputs[0] = empty_like(x.dtype, out, description());
    checked_numel(out, description());
    const size_t es = element_size(x);
    const char* src = raw_data(x);
    char* dst = raw_data(outputs[0]);
    for_each_broadcast(out, {x.shape}, [&](int64_t k, const int64_t* offsets) {
      std::memcpy(dst + k * es, src + offsets[0] * es, es);
    });
  }
};

}  // namespace

std::unique_ptr<Op> make_expand(const Node& node, const Graph&) { return std::make_unique<Expand>(node); }

}  // namespace edgequant::engine
