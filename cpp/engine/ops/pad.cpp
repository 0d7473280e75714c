// Pad (pads as attribute before opset 11, input from 11; constant_value likewise). Modes:
// 'constant'; 'edge' repeats the border element; 'reflect' mirrors about the border element
// without repeating it (pads must then be smaller than the dim, as ONNX Runtime requires).
// Negative pads crop.
#include <algorithm>
#include <cstdlib>

#include "ops/layout.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

class Pad : public Op {
 public:
  explicit Pad(const Node& node) : Op(node) {
    check(!node.inputs.empty() && node.outputs.size() == 1, "expects inputs and 1 output");
    mode_ = node.attr_s("mode", "constant");
    check(mode_ == "constant" || mode_ == "edge" || mode_ == "reflect",
          [&] { return "mode '" + mode_ + "' is not supported (constant, edge, reflect)"; });
  }
  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = float_input(inputs, 0);
    const int rank = x.rank();
    std::vector<int64_t> pads = node_.has("pads") ? node_.attr_ints("pads") : int_values(inputs, 1);
    float value = node_.attr_f("value", 0);
    if (inputs.size() > 2 && inputs[2]) {
      auto v = input(inputs, 2).as_f32();
      check(v.size() == 1, "constant_value must be a scalar");
      value = v[0];
    }
    if (inputs.size() > 3 && inputs[3]) {  // opset 18 axes: expand to every axis
      auto axes = int_values(inputs, 3);
      check(pads.size() == 2 * axes.size(), "pads and axes disagree");
      std::vector<int64_t> full(2 * rank, 0);
      for (size_t k = 0; k < axes.size(); ++k) {
        const int a = axis_of(axes[k], rank);
        full[a] = pads[k];
        full[a + rank] = pads[k + axes.size()];
      }
      pads = full;
    }
    check(static_cast<int>(pads.size()) == 2 * rank, "pads must have 2 x rank entries");
    Shape out(rank);
    for (int k = 0; k < rank; ++k) {
      check(std::abs(pads[k]) < (int64_t{1} << 40) && std::abs(pads[k + rank]) < (int64_t{1} << 40), "pads are too large");
      out[k] = x.shape[k] + pads[k] + pads[k + rank];
      check(out[k] >= 0, "pads crop below zero");
      const bool grows = pads[k] > 0 || pads[k + rank] > 0;
      if (mode_ != "constant" && grows) check(x.shape[k] > 0, [&] { return "mode '" + mode_ + "' cannot pad an empty axis"; });
      if (mode_ == "reflect" && grows)
        check(pads[k] < x.shape[k] && pads[k + rank] < x.shape[k],
              [&] { return "reflect pads must be smaller than the axis (" + std::to_string(x.shape[k]) + ")"; });
    }
    outputs[0] = Tensor::zeros_f32(out, description());
    const int64_t total = checked_numel(out, description());
    std::vector<int64_t> in_stride(rank, 1);
    for (int k = rank - 2; k >= 0; --k) in_stride[k] = in_stride[k + 1] * x.shape[k + 1];
    std::vector<int64_t> index(rank, 0);
    for (int64_t o = 0; o < total; ++o) {
      int64_t offset = 0;
      bool inside = true;
      for (int k = 0; k < rank && inside; ++k) {
        int64_t i = index[k] - pads[k];
        if (mode_ == "edge") i = std::min(std::max<int64_t>(i, 0), x.shape[k] - 1);
        if (mode_ == "reflect") i = i < 0 ? -i : i >= x.shape[k] ? 2 * (x.shape[k] - 1) - i : i;
        inside = i >= 0 && i < x.shape[k];
        offset += i * in_stride[k];
      }
      outputs[0].f()[o] = inside ? x.f()[offset] : value;
      for (int k = rank - 1; k >= 0; --k) {
        if (++index[k] < out[k]) break;
        index[k] = 0;
      }
    }
  }

 private:
  std::string mode_;
};

}  // namespace

std::unique_ptr<Op> make_pad(const Node& node, const Graph&) { return std::make_unique<Pad>(node); }

}  // namespace edgequant::engine
