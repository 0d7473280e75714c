// Range: start, start + delta, ... up to (not including) limit; three scalars of one dtype,
// max(ceil((limit - start) / delta), 0) elements, each computed as start + k * delta like ONNX's
// reference.
#include <algorithm>
#include <cmath>

#include "ops/op.h"

namespace edgequant::engine {
namespace {

class Range : public Op {
 public:
  explicit Range(const Node& node) : Op(node) {
    check(node.inputs.size() == 3 && node.outputs.size() == 1, "expects 3 inputs, 1 output");
  }

  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& start = input(inputs, 0);
    const Tensor& limit = input(inputs, 1);
    const Tensor& delta = input(inputs, 2);
    check(start.dtype == limit.dtype && start.dtype == delta.dtype, "start, limit and delta differ in type");
    check(start.numel() == 1 && limit.numel() == 1 && delta.numel() == 1, "start, limit and delta must be scalars");
    if (start.dtype == DType::f32) {
      const double s = start.f()[0], l = limit.f()[0], d = delta.f()[0];
      check(d != 0 && std::isfinite(s) && std::isfinite(l) && std::isfinite(d),
            "start, limit and delta must be finite and delta non-zero");
      const double count = std::max(std::ceil((l - s) / d), 0.0);
      check(count <= static_cast<double>(int64_t{1} << 34), "the range is too long");
      outputs[0] = Tensor::zeros_f32({static_cast<int64_t>(count)}, description());
      float* y = outputs[0].f();
      const float fs = start.f()[0], fd = delta.f()[0];
      for (int64_t k = 0; k < static_cast<int64_t>(count); ++k) y[k] = fs + static_cast<float>(k) * fd;
      return;
    }
    const int64_t s = start.i()[0], l = limit.i()[0], d = delta.i()[0];
    check(d != 0, "delta must be non-zero");
    // In long double: limit - start can overflow int64 for hostile values.
    const long double span = static_cast<long double>(l) - static_cast<long double>(s);
    const long double count = std::max(std::ceil(span / static_cast<long double>(d)), 0.0L);
    check(count <= static_cast<long double>(int64_t{1} << 34), "the range is too long");
    outputs[0] = Tensor::zeros_i64({static_cast<int64_t>(count)}, description());
    int64_t* y = outputs[0].i();
    // In uint64 (wraps, defined): k * delta alone can pass int64's range though start + k * delta
    // stays between start and limit.
    for (int64_t k = 0; k < static_cast<int64_t>(count); ++k)
      y[k] = static_cast<int64_t>(static_cast<uint64_t>(s) + static_cast<uint64_t>(k) * static_cast<uint64_t>(d));
  }
};

}  // namespace

std::unique_ptr<Op> make_range(const Node& node, const Graph&) { return std::make_unique<Range>(node); }

}  // namespace edgequant::engine
