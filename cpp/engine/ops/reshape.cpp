// Ops that only relabel the shape (the data is shared, never copied): Reshape (0 copies a dim
// unless allowzero, -1 infers one), Flatten, Squeeze, Unsqueeze. u8 codes pass through as codes (a
// quantized model's channel shuffle); codes in a backend's layout are made plain first, where the
// shape changes.
#include <algorithm>

#include "ops/layout.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

class Reshape : public Op {
 public:
  explicit Reshape(const Node& node) : Op(node) {
    check(!node.inputs.empty() && node.outputs.size() == 1, "expects inputs and 1 output");
  }
  Int8Traits int8_traits() const override {
    Int8Traits traits;
    traits.passes_u8 = true;
    traits.u8_inputs = {0};
    return traits;
  }
  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = input(inputs, 0);
    const std::string& op = node_.op_type;
    Shape out;
    if (op == "Reshape") {
      std::vector<int64_t> spec = node_.has("shape") ? node_.attr_ints("shape") : int_values(inputs, 1);
      const bool allow_zero = node_.attr_i("allowzero", 0) != 0;
      int infer = -1;
      int64_t known = 1;
      for (size_t k = 0; k < spec.size(); ++k) {
        int64_t d = spec[k];
        if (d == 0 && !allow_zero) {
          check(k < x.shape.size(), "shape entry 0 copies a dim the input does not have");
          d = x.shape[k];
        }
        if (d == -1) {
          check(infer < 0, "more than one -1 in the target shape");
          infer = static_cast<int>(k);
        } else {
          check(d >= 0, "negative dim in the target shape");
          known = d == 0 ? 0 : known;
          if (known && d > INT64_MAX / known) fail("target shape overflows");
          known *= d;
        }
        out.push_back(d);
      }
      if (infer >= 0) {
        check(known > 0 && x.numel() % known == 0,
              [&] { return "cannot infer the -1 dim of " + shape_string(spec) + " from input " + shape_string(x.shape); });
        out[infer] = x.numel() / known;
      }
    } else if (op == "Flatten") {
      const int rank = x.rank();
      int64_t axis = node_.attr_i("axis", 1);
      check(axis >= -rank && axis <= rank, "axis out of range");
      if (axis < 0) axis += rank;
      int64_t outer = 1, inner = 1;  // products of the dims, not numel / outer: an empty batch keeps its width
      for (int k = 0; k < rank; ++k) (k < axis ? outer : inner) *= x.shape[k];
      out = {outer, inner};
    } else {
      std::vector<int64_t> axes = node_.has("axes") ? node_.attr_ints("axes")
                                  : (inputs.size() > 1 && inputs[1]) ? int_values(inputs, 1) : std::vector<int64_t>{};
      if (op == "Squeeze") {
        std::vector<bool> drop(x.rank(), false);
        for (int64_t a : axes) drop[axis_of(a, x.rank())] = true;
        for (int k = 0; k < x.rank(); ++k) {
          if (axes.empty() && x.shape[k] == 1) continue;
          if (drop[k]) {
            check(x.shape[k] == 1, [&] { return "cannot squeeze an axis of length " + std::to_string(x.shape[k]); });
            continue;
          }
          out.push_back(x.shape[k]);
        }
      } else {  // Unsqueeze
        const int rank = x.rank() + static_cast<int>(axes.size());
        std::vector<bool> insert(rank, false);
        for (int64_t a : axes) {
          const int k = axis_of(a, rank);
          check(!insert[k], "repeated axis");
          insert[k] = true;
        }
        size_t next = 0;
        for (int k = 0; k < rank; ++k) out.push_back(insert[k] ? 1 : x.shape[next++]);
      }
    }
    check(checked_numel(out, description()) == x.numel(),
          [&] { return "cannot reshape " + shape_string(x.shape) + " to " + shape_string(out); });
    // a backend layout of u8 codes is one of its own shape (a float one's is read through Tensor::f())
    Tensor codes;
    outputs[0] = (out == x.shape ? x : plain_data(x, codes, description())).reshaped(out);
  }
};

}  // namespace

std::unique_ptr<Op> make_reshape(const Node& node, const Graph&) { return std::make_unique<Reshape>(node); }

}  // namespace edgequant::engine
