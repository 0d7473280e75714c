// Slice: starts / ends / axes / steps as inputs (opset >= 10) or attributes (opset < 10), with
// ONNX clamping of out-of-range bounds and negative steps.
#include "ops/layout.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

class Slice : public Op {
 public:
  explicit Slice(const Node& node) : Op(node) {
    check(!node.inputs.empty() && node.outputs.size() == 1, "expects inputs and 1 output");
    from_attributes_ = node.inputs.size() == 1;
    if (from_attributes_) {
      starts_ = node.attr_ints("starts");
      ends_ = node.attr_ints("ends");
      axes_ = node.attr_ints("axes");
    }
  }
  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = input(inputs, 0);
    std::vector<int64_t> starts = starts_, ends = ends_, axes = axes_, steps;
    if (!from_attributes_) {
      starts = int_values(inputs, 1);
      ends = int_values(inputs, 2);
      if (inputs.size() > 3 && inputs[3]) axes = int_values(inputs, 3);
      if (inputs.size() > 4 && inputs[4]) steps = int_values(inputs, 4);
    }
    check(starts.size() == ends.size(), "starts and ends differ in length");
    if (axes.empty())
      for (size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<int64_t>(k));
    if (steps.empty()) steps.assign(starts.size(), 1);
    check(axes.size() == starts.size() && steps.size() == starts.size(), "axes / steps differ in length from starts");
    const int rank = x.rank();
    std::vector<int64_t> begin(rank, 0), step(rank, 1);
    Shape out = x.shape;
    for (size_t k = 0; k < starts.size(); ++k) {
      const int a = axis_of(axes[k], rank);
      const int64_t dim = x.shape[a], s = steps[k];
      check(s != 0, "step 0");
      auto clampi = [](int64_t v, int64_t lo, int64_t hi) { return std::min(std::max(v, lo), hi); };
      int64_t st = starts[k] < 0 ? starts[k] + dim : starts[k];
      int64_t en = ends[k] < 0 ? ends[k] + dim : ends[k];
      if (s > 0) {
        st = clampi(st, 0, dim);
        en = clampi(en, 0, dim);
        out[a] = en > st ? (en - st + s - 1) / s : 0;
      } else {
        st = clampi(st, 0, dim - 1);
        en = clampi(en, -1, dim - 1);
        out[a] = st > en ? (st - en + (-s) - 1) / (-s) : 0;
      }
      begin[a] = st;
      step[a] = s;
    }
    outputs[0] = empty_as(x, out, description());
    const int64_t total = checked_numel(out, description());
    if (total == 0) return;
    std::vector<int64_t> in_stride(rank, 1);
    for (int k = rank - 2; k >= 0; --k) in_stride[k] = in_stride[k + 1] * x.shape[k + 1];
    // The trailing axes read with step 1 form one contiguous run per outer index while the axes after
    // the first partial one are whole (a box decoder's x[..., 0:2] copies rows of 2, an NCHW channel
    // slice whole planes): one memcpy per run instead of one per element.
    int64_t run = 1;
    int outer = rank;  // axes [0, outer) are walked one index at a time
    while (outer > 0 && step[outer - 1] == 1) {
      --outer;
      run *= out[outer];
      if (out[outer] != x.shape[outer]) break;
    }
    const size_t es = element_size(x), run_bytes = static_cast<size_t>(run) * es;
    const char* source = raw_data(x);
    char* target = raw_data(outputs[0]);
    int64_t base = 0;
    for (int k = 0; k < rank; ++k) base += begin[k] * in_stride[k];
    if (outer == 0) {
      std::memcpy(target, source + base * es, run_bytes);
      return;
    }
    // The last walked axis in a loop of its own; short 4-byte runs (box coordinates) copied inline.
    const int last = outer - 1;
    const int64_t last_stride = step[last] * in_stride[last], last_count = out[last];
    std::vector<int64_t> index(last, 0);
    for (int64_t o = 0; o < total; o += run * last_count) {
      int64_t offset = base;
      for (int k = 0; k < last; ++k) offset += index[k] * step[k] * in_stride[k];
      char* to = target + o * es;
      if (es == 4 && run <= 4) {
        for (int64_t j = 0; j < last_count; ++j, to += run_bytes) {
          const char* from = source + (offset + j * last_stride) * 4;
          for (int64_t r = 0; r < run; ++r) std::memcpy(to + 4 * r, from + 4 * r, 4);  // one 32-bit move each
        }
      } else {
        for (int64_t j = 0; j < last_count; ++j, to += run_bytes)
          std::memcpy(to, source + (offset + j * last_stride) * es, run_bytes);
      }
      for (int k = last - 1; k >= 0; --k) {
        if (++index[k] < out[k]) break;
        index[k] = 0;
      }
    }
  }

 private:
  bool from_attributes_;
  std::vector<int64_t> starts_, ends_, axes_;
};

}  // namespace

std::unique_ptr<Op> make_slice(const Node& node, const Graph&) { return std::make_unique<Slice>(node); }

}  // namespace edgequant::engine
