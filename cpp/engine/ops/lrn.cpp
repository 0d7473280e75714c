// LRN (local response normalization across channels):
// y = x / (bias + alpha / size · Σ x[c']²)^beta over c' in [c − ⌊(size−1)/2⌋, c + ⌈(size−1)/2⌉].
#include <cmath>

#include "ops/op.h"

namespace edgequant::engine {
namespace {

class Lrn : public Op {
 public:
  explicit Lrn(const Node& node) : Op(node) {
    check(node.inputs.size() == 1 && node.outputs.size() == 1, "expects 1 input, 1 output");
    check(node.has("size"), "attribute 'size' is required");
    size_ = node.attr_i("size", 1);
    check(size_ >= 1 && size_ <= (1 << 16), "size must be in [1, 65536]");
    alpha_ = node.attr_f("alpha", 1e-4f);
    beta_ = node.attr_f("beta", 0.75f);
    bias_ = node.attr_f("bias", 1.f);
  }
  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = float_input(inputs, 0);
    check(x.rank() >= 3, [&] { return "input must be [N, C, D1, ...], got " + shape_string(x.shape); });
    const int64_t n = x.shape[0], c = x.shape[1], plane = x.numel() / std::max<int64_t>(n * c, 1);
    outputs[0] = Tensor::zeros_f32(x.shape, description());
    const float* in = x.f();
    float* out = outputs[0].f();
    const int64_t before = (size_ - 1) / 2, after = size_ - 1 - before;
    for (int64_t b = 0; b < n; ++b)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t i = 0; i < plane; ++i) {
          double squares = 0;
          for (int64_t j = std::max<int64_t>(0, ch - before); j <= std::min(c - 1, ch + after); ++j) {
            const double v = in[(b * c + j) * plane + i];
            squares += v * v;
          }
          const int64_t at = (b * c + ch) * plane + i;
          out[at] = static_cast<float>(in[at] / std::pow(bias_ + alpha_ / size_ * squares, static_cast<double>(beta_)));
        }
  }

 private:
  int64_t size_;
  float alpha_, beta_, bias_;
};

}  // namespace

std::unique_ptr<Op> make_lrn(const Node& node, const Graph&) { return std::make_unique<Lrn>(node); }

}  // namespace edgequant::engine
