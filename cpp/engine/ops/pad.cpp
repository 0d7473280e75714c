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
    kind_ = mode_ == "edge" ? Mode::edge : mode_ == "reflect" ? Mode::reflect : Mode::constant;
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
    outputs[0] = Tensor::unspecified_f32(out, description());  // copy_padded writes every element
    if (checked_numel(out, description()) == 0) return;
    copy_padded(x.f(), x.shape, pads, value, outputs[0].f());
  }

 private:
  enum class Mode { constant, edge, reflect };

  // Where output position o of an axis of n values (padded by `before`) reads: -1 = the constant.
  int64_t source_index(int64_t o, int64_t before, int64_t n) const {
    int64_t i = o - before;
    if (i >= 0 && i < n) return i;
    if (kind_ == Mode::edge) return std::min(std::max<int64_t>(i, 0), n - 1);
    if (kind_ == Mode::reflect) return i < 0 ? -i : 2 * (n - 1) - i;
    return -1;
  }

  // Row by row: the trailing axes without pads form one contiguous block per position of the last
  // padded axis, and the part of a row inside the input is one copy (a padded element at a time
  // was ~3 ms a Pad on basic_pitch's harmonic stacking).
  void copy_padded(const float* x, const Shape& shape, const std::vector<int64_t>& pads, float value, float* y) const {
    const int rank = static_cast<int>(shape.size());
    int last = rank - 1;  // the last axis with a pad
    int64_t block = 1;
    while (last >= 0 && pads[last] == 0 && pads[last + rank] == 0) block *= shape[last--];
    if (last < 0) return void(std::copy(x, x + block, y));
    std::vector<int64_t> out(last + 1), stride(last + 1);
    stride[last] = block;
    for (int k = last - 1; k >= 0; --k) stride[k] = stride[k + 1] * shape[k + 1];
    for (int k = 0; k <= last; ++k) out[k] = shape[k] + pads[k] + pads[k + rank];
    const int64_t n = shape[last], before = pads[last], width = out[last] * block;
    const int64_t lo = std::clamp<int64_t>(before, 0, out[last]), hi = std::clamp<int64_t>(n + before, lo, out[last]);
    std::vector<int64_t> index(last, 0);
    int64_t rows = 1;
    for (int k = 0; k < last; ++k) rows *= out[k];
    for (int64_t r = 0; r < rows; ++r, y += width) {
      int64_t offset = 0;
      bool inside = true;
      for (int k = 0; k < last && inside; ++k) {
        const int64_t i = source_index(index[k], pads[k], shape[k]);
        inside = i >= 0;
        offset += i * stride[k];
      }
      if (!inside) {
        std::fill(y, y + width, value);
      } else {
        const float* row = x + offset;
        if (hi > lo) std::copy(row + (lo - before) * block, row + (hi - before) * block, y + lo * block);
        for (int64_t o = 0; o < out[last]; ++o) {
          if (o == lo) o = hi;
          if (o >= out[last]) break;
          const int64_t i = source_index(o, before, n);
          if (i < 0)
            std::fill(y + o * block, y + (o + 1) * block, value);
          else
            std::copy(row + i * block, row + (i + 1) * block, y + o * block);
        }
      }
      for (int k = last - 1; k >= 0; --k) {
        if (++index[k] < out[k]) break;
        index[k] = 0;
      }
    }
  }

  Mode kind_ = Mode::constant;
  std::string mode_;
};

}  // namespace

std::unique_ptr<Op> make_pad(const Node& node, const Graph&) { return std::make_unique<Pad>(node); }

}  // namespace edgequant::engine
