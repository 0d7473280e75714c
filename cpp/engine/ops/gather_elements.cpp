// GatherElements: out[i0, .., i_axis, ..] = data[i0, .., indices[i0, .., i_axis, ..], ..] — the
// output has the indices' shape, every other dim at most data's. Negative indices count from the
// end; one outside [−n, n) is an error naming it. Any dtype of data; int64 indices.
#include "ops/op.h"

namespace edgequant::engine {
namespace {

class GatherElements : public Op {
 public:
  explicit GatherElements(const Node& node) : Op(node) {
    check(node.inputs.size() == 2 && node.outputs.size() == 1, "expects 2 inputs, 1 output");
    axis_ = node.attr_i("axis", 0);
  }

  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor &data = input(inputs, 0), &idx = input(inputs, 1);
    check(idx.dtype == DType::i64, "indices must be integers");
    check(data.rank() >= 1 && idx.rank() == data.rank(), "data and indices must have the same rank >= 1");
    const int axis = axis_of(axis_, data.rank());
    for (int d = 0; d < data.rank(); ++d)
      check(d == axis || idx.shape[d] <= data.shape[d],
            [&] { return "indices " + shape_string(idx.shape) + " exceed data " + shape_string(data.shape) + " off the axis"; });
    outputs[0] = empty_like(data.dtype, idx.shape, description());
    const int rank = data.rank();
    std::vector<int64_t> data_strides(rank, 1);
    for (int d = rank - 2; d >= 0; --d) data_strides[d] = data_strides[d + 1] * data.shape[d + 1];
    const int64_t n = idx.numel(), dim = data.shape[axis];
    std::vector<int64_t> pos(rank, 0);  // the output index, advanced odometer-wise
    for (int64_t k = 0; k < n; ++k) {
      int64_t j = idx.i()[k];
      check(j >= -dim && j < dim, [&] { return "index " + std::to_string(j) + " is out of range for axis " + std::to_string(axis) +
                                      " of size " + std::to_string(dim); });
      if (j < 0) j += dim;
      int64_t offset = 0;
      for (int d = 0; d < rank; ++d) offset += (d == axis ? j : pos[d]) * data_strides[d];
      if (data.dtype == DType::f32) outputs[0].f()[k] = data.f()[offset];
      else outputs[0].i()[k] = data.i()[offset];
      for (int d = rank - 1; d >= 0; --d) {
        if (++pos[d] < idx.shape[d]) break;
        pos[d] = 0;
      }
    }
  }

 private:
  int64_t axis_;
};

}  // namespace

std::unique_ptr<Op> make_gather_elements(const Node& node, const Graph&) {
  return std::make_unique<GatherElements>(node);
}

}  // namespace edgequant::engine
