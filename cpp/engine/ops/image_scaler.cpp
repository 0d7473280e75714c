// ImageScaler (ONNX opsets 1-9, experimental; in older model-zoo files): y = scale · x + bias[c]
// over an NCHW input.
#include "ops/op.h"

namespace edgequant::engine {
namespace {

class ImageScaler : public Op {
 public:
  explicit ImageScaler(const Node& node) : Op(node) {
    check(node.inputs.size() == 1 && node.outputs.size() == 1, "expects 1 input, 1 output");
    scale_ = node.attr_f("scale", 1.f);
    if (node.has("bias")) {
      const Attribute& a = node.attributes.at("bias");
      check(a.kind == Attribute::Kind::floats, "attribute 'bias' must be a list of floats");
      bias_ = a.floats;
    }
  }
  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = float_input(inputs, 0);
    check(x.rank() == 4, [&] { return "input must be NCHW, got " + shape_string(x.shape); });
    const int64_t c = x.shape[1], plane = x.shape[2] * x.shape[3];
    check(bias_.empty() || static_cast<int64_t>(bias_.size()) == c,
          [&] { return "bias holds " + std::to_string(bias_.size()) + " values for " + std::to_string(c) + " channels"; });
    outputs[0] = Tensor::zeros_f32(x.shape, description());
    const float* in = x.f();
    float* out = outputs[0].f();
    for (int64_t k = 0; k < x.shape[0] * c; ++k) {
      const float b = bias_.empty() ? 0.f : bias_[k % c];
      for (int64_t i = 0; i < plane; ++i) out[k * plane + i] = scale_ * in[k * plane + i] + b;
    }
  }

 private:
  float scale_;
  std::vector<float> bias_;
};

}  // namespace

std::unique_ptr<Op> make_image_scaler(const Node& node, const Graph&) { return std::make_unique<ImageScaler>(node); }

}  // namespace edgequant::engine
