// TopK: the k largest (largest = 1, default) or smallest values along `axis` (default −1) and their
// int64 indices, sorted (the order is the same with sorted = 0, which leaves it to the runtime).
// Equal values keep their order (the lower index first), as ONNX requires; a NaN counts as larger
// than every number (NumPy's sort order), so it comes first among the largest and last among the
// smallest. Float32 or int64 input; k is a one-element int64 input (opset >= 10) or the attribute.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>

#include "ops/layout.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

class TopK : public Op {
 public:
  explicit TopK(const Node& node) : Op(node) {
    check(node.inputs.size() >= 1 && node.inputs.size() <= 2 && node.outputs.size() == 2, "expects 1-2 inputs, 2 outputs");
    axis_ = node.attr_i("axis", -1);
    largest_ = node.attr_i("largest", 1) != 0;
  }

  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = input(inputs, 0);
    check(x.rank() >= 1, "expects an input of rank >= 1");
    int64_t k = node_.attr_i("k", -1);
    if (inputs.size() > 1 && inputs[1]) {
      const std::vector<int64_t> kv = int_values(inputs, 1);
      check(kv.size() == 1, "K must hold one value");
      k = kv[0];
    }
    const int axis = axis_of(axis_, x.rank());
    const int64_t len = x.shape[axis];
    check(k >= 0 && k <= len, [&] { return "k = " + std::to_string(k) + " is outside [0, " + std::to_string(len) + "]"; });
    const int64_t outer = span(x.shape, 0, axis), inner = span(x.shape, axis + 1, x.shape.size());
    Shape out = x.shape;
    out[axis] = k;
    outputs[0] = empty_like(x.dtype, out, description());
    outputs[1] = Tensor::zeros_i64(out, description());
    if (x.dtype == DType::f32) select(x.f(), outputs[0].f(), outer, len, inner, k, outputs[1].i());
    else select(x.i(), outputs[0].i(), outer, len, inner, k, outputs[1].i());
  }

 private:
  template <class T>
  void select(const T* in, T* values, int64_t outer, int64_t len, int64_t inner, int64_t k, int64_t* indices) const {
    std::vector<int64_t> order(static_cast<size_t>(len));
    std::vector<T> row(static_cast<size_t>(len));
    // a before b: further towards the requested end, NaN the largest; stable for ties.
    auto before = [&](int64_t a, int64_t b) {
      const T va = row[a], vb = row[b];
      if constexpr (std::is_floating_point<T>::value) {
        if (std::isnan(va) || std::isnan(vb)) return largest_ ? std::isnan(va) && !std::isnan(vb)
                                                              : !std::isnan(va) && std::isnan(vb);
      }
      return largest_ ? va > vb : va < vb;
    };
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        const T* p = in + o * len * inner + i;
        for (int64_t j = 0; j < len; ++j) row[j] = p[j * inner];
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), before);
        for (int64_t j = 0; j < k; ++j) {
          values[(o * k + j) * inner + i] = row[order[j]];
          indices[(o * k + j) * inner + i] = order[j];
        }
      }
  }

  int64_t axis_;
  bool largest_;
};

}  // namespace

std::unique_ptr<Op> make_top_k(const Node& node, const Graph&) { return std::make_unique<TopK>(node); }

}  // namespace edgequant::engine
