// ArgMax and ArgMin: the int64 index of the largest / smallest value along `axis` (default 0),
// keepdims (default 1) keeping that axis as size 1; the first such index, or the last with
// select_last_index = 1 (opset >= 12). Float32 or int64 input. A NaN counts as the extreme value
// (numpy's argmax / argmin, the ONNX reference: the first NaN wins).
#include <cmath>
#include <type_traits>

#include "ops/layout.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

class ArgReduce : public Op {
 public:
  explicit ArgReduce(const Node& node) : Op(node) {
    check(node.inputs.size() == 1 && node.outputs.size() == 1, "expects 1 input, 1 output");
    max_ = node.op_type == "ArgMax";
    axis_ = node.attr_i("axis", 0);
    keepdims_ = node.attr_i("keepdims", 1) != 0;
    last_ = node.attr_i("select_last_index", 0) != 0;
  }

  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = input(inputs, 0);
    check(x.rank() >= 1, "expects an input of rank >= 1");
    const int axis = axis_of(axis_, x.rank());
    const int64_t outer = span(x.shape, 0, axis), len = x.shape[axis], inner = span(x.shape, axis + 1, x.shape.size());
    check(len > 0 || outer * inner == 0,
          [&] { return "cannot take the index of an extreme over an empty axis " + std::to_string(axis); });
    Shape out = x.shape;
    if (keepdims_) out[axis] = 1;
    else out.erase(out.begin() + axis);
    outputs[0] = Tensor::zeros_i64(out, description());
    if (x.dtype == DType::f32) search(x.f(), outer, len, inner, outputs[0].i());
    else search(x.i(), outer, len, inner, outputs[0].i());
  }

 private:
  template <class T>
  void search(const T* in, int64_t outer, int64_t len, int64_t inner, int64_t* dst) const {
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        const T* p = in + o * len * inner + i;
        int64_t best = 0;
        for (int64_t k = 1; k < len; ++k) {
          const T v = p[k * inner], b = p[best * inner];
          if (is_nan(b)) break;  // the first NaN is the answer
          if (is_nan(v) || (max_ ? v > b : v < b) || (last_ && v == b)) best = k;
        }
        dst[o * inner + i] = best;
      }
  }
  template <class T>
  static bool is_nan(T v) {
    if constexpr (std::is_floating_point<T>::value) return std::isnan(v);
    return false;
  }

  bool max_, keepdims_, last_;
  int64_t axis_;
};

}  // namespace

std::unique_ptr<Op> make_arg_reduce(const Node& node, const Graph&) { return std::make_unique<ArgReduce>(node); }

}  // namespace edgequant::engine
