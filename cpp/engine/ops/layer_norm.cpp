// LayerNormalization (opset 17): each slice X[i0, ..., i(axis-1), :, ..., :] is normalised to
// zero mean and unit (biased) variance, y = (x - mean) / sqrt(var + epsilon) * Scale + B, Scale and
// the optional B broadcasting to X's shape (normally they hold the normalised shape). Mean and
// variance accumulate in double, at least stash_type 1's float precision. The optional outputs
// Mean and InvStdDev = 1 / sqrt(var + epsilon) have X's shape with the normalised axes set to 1.
#include <cmath>

#include "ops/broadcasting.h"
#include "ops/layout.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

class LayerNorm : public Op {
 public:
  LayerNorm(const Node& node, const Graph& graph) : Op(node) {
    check(graph.opset >= 17, [&] { return "LayerNormalization is an ONNX op from opset 17 (the model imports opset " +
                                 std::to_string(graph.opset) + ")"; });
    check((node.inputs.size() == 2 || node.inputs.size() == 3) && !node.outputs.empty() && node.outputs.size() <= 3,
          "expects 2 or 3 inputs (X, Scale, B) and 1 to 3 outputs (Y, Mean, InvStdDev)");
    axis_ = node.attr_i("axis", -1);
    epsilon_ = node.attr_f("epsilon", 1e-5f);
    check(epsilon_ >= 0, "epsilon must be >= 0");
    const int64_t stash_type = node.attr_i("stash_type", 1);
    check(stash_type == 1, [&] { return "stash_type " + std::to_string(stash_type) + " is not supported (only 1, float)"; });
    has_bias_ = node.inputs.size() == 3 && !node.inputs[2].empty();
  }

  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = float_input(inputs, 0);
    check(x.rank() >= 1, "expects X of rank >= 1");
    const int axis = axis_of(axis_, x.rank());
    const Tensor& scale = float_input(inputs, 1);
    const int64_t rows = span(x.shape, 0, axis), len = span(x.shape, axis, x.shape.size());
    outputs[0] = Tensor::zeros_f32(x.shape, description());
    Shape stats_shape = x.shape;
    std::fill(stats_shape.begin() + axis, stats_shape.end(), 1);
    for (size_t k = 1; k < outputs.size() && k < 3; ++k) outputs[k] = Tensor::zeros_f32(stats_shape, description());
    float* mean_out = outputs.size() > 1 ? outputs[1].f() : nullptr;
    float* inv_out = outputs.size() > 2 ? outputs[2].f() : nullptr;
    float* out = outputs[0].f();
    const float* in = x.f();
    for (int64_t r = 0; r < rows && len > 0; ++r) {
      const float* p = in + r * len;
      double sum = 0, squares = 0;
      for (int64_t k = 0; k < len; ++k) sum += p[k];
      const double mean = sum / len;
      for (int64_t k = 0; k < len; ++k) squares += (p[k] - mean) * (p[k] - mean);
      const double inv = 1 / std::sqrt(squares / len + epsilon_);
      if (mean_out) mean_out[r] = static_cast<float>(mean);
      if (inv_out) inv_out[r] = static_cast<float>(inv);
      for (int64_t k = 0; k < len; ++k) out[r * len + k] = static_cast<float>((p[k] - mean) * inv);
    }
    apply_affine(x.shape, scale, has_bias_ ? &float_input(inputs, 2) : nullptr, out);
  }

 private:
  // out = out * scale + bias, both broadcast (unidirectionally) to `shape`.
  void apply_affine(const Shape& shape, const Tensor& scale, const Tensor* bias, float* out) const {
    for (const Tensor* t : {&scale, bias}) {
      if (!t) continue;
      bool fits = false;
      const Shape joint = broadcast_shape({shape, t->shape}, fits);
      check(fits && joint == shape,
            [&] { return "Scale / B " + shape_string(t->shape) + " do not broadcast to X " + shape_string(shape); });
    }
    std::vector<std::vector<int64_t>> strides = {broadcast_strides(scale.shape, shape)};
    if (bias) strides.push_back(broadcast_strides(bias->shape, shape));
    const float* s = scale.f();
    const float* b = bias ? bias->f() : nullptr;
    const int64_t ss = inner_stride(strides[0]), sb = bias ? inner_stride(strides[1]) : 0;
    for_each_row(shape, strides, [&](int64_t o, const std::vector<int64_t>& at, int64_t inner) {
      for (int64_t j = 0; j < inner; ++j) {
        const float shift = b ? b[at[1] + j * sb] : 0.0f;
        out[o + j] = out[o + j] * s[at[0] + j * ss] + shift;
      }
    });
  }

  int64_t axis_;
  float epsilon_;
  bool has_bias_;
};

}  // namespace

std::unique_ptr<Op> make_layer_norm(const Node& node, const Graph& graph) {
  return std::make_unique<LayerNorm>(node, graph);
}

}  // namespace edgequant::engine
