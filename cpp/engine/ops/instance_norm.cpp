// InstanceNormalization: y = scale[c] · (x − mean) / sqrt(var + epsilon) + B[c], mean and (biased)
// variance over the spatial dims of each (n, c). Accumulated in double (a constant plane gives
// var 0 and y = B exactly). Scale and B may be constants or run-time inputs.
#include <cmath>

#include "ops/op.h"

namespace edgequant::engine {
namespace {

class InstanceNorm : public Op {
 public:
  explicit InstanceNorm(const Node& node) : Op(node) {
    check(node.inputs.size() == 3 && node.outputs.size() == 1, "expects 3 inputs (x, scale, B), 1 output");
    epsilon_ = node.attr_f("epsilon", 1e-5f);
    check(epsilon_ >= 0, "epsilon must be >= 0");
  }
  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = float_input(inputs, 0);
    const Tensor& scale = float_input(inputs, 1);
    const Tensor& bias = float_input(inputs, 2);
    check(x.rank() >= 3, [&] { return "input must be [N, C, D1, ...], got " + shape_string(x.shape); });
    const int64_t n = x.shape[0], c = x.shape[1], plane = x.numel() / std::max<int64_t>(n * c, 1);
    check(scale.numel() == c && bias.numel() == c, [&] { return "scale and B must hold one value per channel (" +
                                                       std::to_string(c) + ")"; });
    outputs[0] = Tensor::zeros_f32(x.shape, description());
    const float* in = x.f();
    float* out = outputs[0].f();
    for (int64_t k = 0; k < n * c; ++k) {
      const float* p = in + k * plane;
      double sum = 0, squares = 0;
      for (int64_t i = 0; i < plane; ++i) sum += p[i];
      const double mean = plane ? sum / plane : 0;
      for (int64_t i = 0; i < plane; ++i) squares += (p[i] - mean) * (p[i] - mean);
      const double var = plane ? squares / plane : 0;
      const double a = scale.f()[k % c] / std::sqrt(var + epsilon_), b = bias.f()[k % c];
      for (int64_t i = 0; i < plane; ++i) out[k * plane + i] = static_cast<float>((p[i] - mean) * a + b);
    }
  }

 private:
  float epsilon_;
};

}  // namespace

std::unique_ptr<Op> make_instance_norm(const Node& node, const Graph&) { return std::make_unique<InstanceNorm>(node); }

}  // namespace edgequant::engine
