// Upsample (ONNX opsets 7-9; scales an attribute in 7, an input from 9): output dim = ⌊in · scale⌋,
// source coordinate out / scale ("asymmetric"). 'nearest' takes the floor; 'linear' interpolates
// between the two neighbours along every axis (n-linear), the coordinate clamped to the last
// input index, as ONNX Runtime's Upsample does.
#include <cmath>

#include "ops/op.h"

namespace edgequant::engine {
namespace {

class Upsample : public Op {
 public:
  explicit Upsample(const Node& node) : Op(node) {
    check(!node.inputs.empty() && node.inputs.size() <= 2 && node.outputs.size() == 1, "expects 1-2 inputs, 1 output");
    const std::string mode = node.attr_s("mode", "nearest");
    check(mode == "nearest" || mode == "linear" || mode == "bilinear", "mode must be 'nearest' or 'linear'");
    linear_ = mode != "nearest";
    if (node.has("scales")) {
      const Attribute& a = node.attributes.at("scales");
      check(a.kind == Attribute::Kind::floats, "attribute 'scales' must be a list of floats");
      scales_ = a.floats;
    }
  }
  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = float_input(inputs, 0);
    const int rank = x.rank();
    const std::vector<float> scales = scales_.empty() ? input(inputs, 1).as_f32() : scales_;
    check(static_cast<int>(scales.size()) == rank, [&] { return "scales must have one entry per axis of " + shape_string(x.shape); });
    Shape out(rank);
    for (int k = 0; k < rank; ++k) {
      check(scales[k] >= 1 && scales[k] < 1e6f, "scales must be in [1, 1e6) (Upsample does not shrink)");
      out[k] = static_cast<int64_t>(std::floor(x.shape[k] * static_cast<double>(scales[k])));
    }
    outputs[0] = Tensor::zeros_f32(out, description());
    const int64_t total = checked_numel(out, description());
    if (total == 0) return;
    // Per axis and output index: the two source indices and the weight of the second.
    std::vector<std::vector<int64_t>> lo(rank), hi(rank);
    std::vector<std::vector<float>> weight(rank);
    for (int k = 0; k < rank; ++k)
      for (int64_t o = 0; o < out[k]; ++o) {
        const double c = std::min<double>(o / static_cast<double>(scales[k]), x.shape[k] - 1);
        const int64_t i = static_cast<int64_t>(std::floor(c));
        lo[k].push_back(i);
        hi[k].push_back(std::min<int64_t>(i + 1, x.shape[k] - 1));
        weight[k].push_back(linear_ ? static_cast<float>(c - i) : 0.f);
      }
    std::vector<int64_t> stride(rank, 1);
    for (int k = rank - 2; k >= 0; --k) stride[k] = stride[k + 1] * x.shape[k + 1];
    std::vector<int64_t> index(rank, 0);
    const float* in = x.f();
    float* y = outputs[0].f();
    for (int64_t o = 0; o < total; ++o) {
      // Σ over the 2^rank corners of Π (1 − w or w); corners of weight 0 are skipped.
      double sum = 0;
      for (int64_t corner = 0; corner < (int64_t{1} << rank); ++corner) {
        double w = 1;
        int64_t offset = 0;
        for (int k = 0; k < rank && w != 0; ++k) {
          const bool upper = (corner >> k) & 1;
          const float wk = weight[k][index[k]];
          w *= upper ? wk : 1 - wk;
          offset += (upper ? hi[k][index[k]] : lo[k][index[k]]) * stride[k];
        }
        if (w != 0) sum += w * in[offset];
      }
      y[o] = static_cast<float>(sum);
      for (int k = rank - 1; k >= 0; --k) {
        if (++index[k] < out[k]) break;
        index[k] = 0;
      }
    }
  }

 private:
  bool linear_ = false;
  std::vector<float> scales_;
};

}  // namespace

std::unique_ptr<Op> make_upsample(const Node& node, const Graph&) { return std::make_unique<Upsample>(node); }

}  // namespace edgequant::engine
