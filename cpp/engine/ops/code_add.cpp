// CodeAdd (graph/code_adds.h): a quantized model's pair(a) + pair(b) -> [clamp] -> pair. Where both
// inputs come as u8 codes of their grids (the static INT8 plan hands the pairs' codes over), the sum
// is TFLite's integer Add (backend/fixed_point_requantization.h add_codes) — in the backend's own
// layout where it holds both inputs so, on plain codes (broadcast as ONNX's Add does) otherwise —
// and equals TFLite's ADD bit for bit. Float inputs (FP32 and dynamic INT8 runs) take the float
// path the nodes it replaced computed: the values added, clamped (NaN stays NaN) and rounded to the
// output grid. The output is the end pair's codes where the plan holds them as u8, else their values.
#include <cmath>
#include <limits>
#include <vector>

#include "backend/fixed_point_requantization.h"
#include "graph/qdq.h"
#include "ops/broadcasting.h"
#include "ops/grid_codes.h"
#include "ops/op.h"
#include "quant/fixed_point.h"

namespace edgequant::engine {
namespace {

class CodeAdd : public Op {
 public:
  CodeAdd(const Node& node, const Graph& graph) : Op(node) {
    check(node.inputs.size() == 8 && node.outputs.size() == 1, "expects 8 inputs, 1 output");
    const std::vector<int64_t> input_min = node.attr_ints("_input_qmin", {0, 0});
    auto found = node.attributes.find("_clip");
    const std::vector<float> clip = found != node.attributes.end() ? found->second.floats
                                    : std::vector<float>{-std::numeric_limits<float>::infinity(),
                                                         std::numeric_limits<float>::infinity()};
    check(input_min.size() == 2 && clip.size() == 2 && !(clip[0] > clip[1]), "malformed attributes");
    a_ = code_grid(graph, node, 1, input_min[0]);
    b_ = code_grid(graph, node, 4, input_min[1]);
    y_ = code_grid(graph, node, 6, quantized_range(node).min);
    lo_ = clip[0];
    hi_ = clip[1];
    const auto [min, max] = quant::clamp_range(lo_, hi_, y_.scale, y_.zero, 0, 255);
    try {
      arithmetic_ = prepare_code_addition(a_.scale, a_.zero, b_.scale, b_.zero, y_.scale, y_.zero, min, max);
      integer_ = true;
    } catch (const InvalidArgument&) {
      integer_ = false;  // scales too far apart for TFLite's multipliers: the float path
    }

  }

  Int8Traits int8_traits() const override { return code_node_traits({0, 3}); }
  void set_quantization(const QuantConfig& q) override {
    writes_codes_ = q.quantize_output && q.output_scale == y_.scale && q.output_zero_point == y_.zero;
  }

  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& a = float_input(inputs, 0);
    const Tensor& b = float_input(inputs, 3);
    Shape shape;
    const std::string why = broadcast_shapes({a.shape, b.shape}, shape);
    check(why.empty(), why);
    const bool codes_in = integer_ && a.quant.is_per_tensor(a_.scale, a_.zero) && b.quant.is_per_tensor(b_.scale, b_.zero) &&
                          a.dtype == DType::u8 && b.dtype == DType::u8;
    if (!codes_in) return run_float(a, b, shape, outputs[0]);
    if (a.native && b.native && a.shape == b.shape) {
      if (!kernel_built_) {
        kernel_ = ctx.backend.code_add(arithmetic_);
        kernel_built_ = true;
      }
      if (kernel_ && kernel_->run(a, b, y_.scale, outputs[0])) {
        if (!writes_codes_) outputs[0] = outputs[0].as_float();  // a float reader only: the codes' values
        return;
      }
    }
    std::vector<uint8_t> a_plain, b_plain;
    const uint8_t* qa = plain_codes(a, a_, a_plain);
    const uint8_t* qb = plain_codes(b, b_, b_plain);
    Tensor codes = Tensor::quantized(DType::u8, shape, QuantParams::per_tensor(y_.scale, y_.zero), description());
    uint8_t* q = codes.u8();
    // Every output code of the 256 × 256 pairs of input codes, made on the first run that needs it (64
    // KiB; a backend kernel that holds both inputs never does): one look-up per element, where the
    // fixed-point arithmetic took ~20 ns. The op belongs to one session: no run shares it.
    if (table_.empty()) table_ = addition_table(arithmetic_);
    const uint8_t* table = table_.data();
    if (a.shape == b.shape) {
      const int64_t n = codes.numel();
      for (int64_t k = 0; k < n; ++k) q[k] = table[qa[k] << 8 | qb[k]];
    } else {
      for_each_broadcast(shape, {a.shape, b.shape}, [&](int64_t k, const int64_t* at) { q[k] = table[qa[at[0]] << 8 | qb[at[1]]]; });
    }
    if (writes_codes_) {
      outputs[0] = std::move(codes);
      return;
    }
    outputs[0] = codes.as_float();
  }

 private:
  // The replaced nodes' float arithmetic: y = pair(clamp(a + b)), NaN kept.
  void run_float(const Tensor& a, const Tensor& b, const Shape& shape, Tensor& out) const {
    out = Tensor::zeros_f32(shape, description());
    const float* x = a.f();
    const float* z = b.f();
    float* y = out.f();
    const float s = y_.scale, zero = static_cast<float>(y_.zero);
    auto value = [&](float sum) {
      sum = sum < lo_ ? lo_ : sum > hi_ ? hi_ : sum;
      if (std::isnan(sum)) return sum;
      float q = std::nearbyint(sum / s) + zero;
      q = q < 0.f ? 0.f : q > 255.f ? 255.f : q;
      return (q - zero) * s;
    };
    if (a.shape == b.shape) {
      const int64_t n = out.numel();
      for (int64_t k = 0; k < n; ++k) y[k] = value(x[k] + z[k]);
      return;
    }
    for_each_broadcast(shape, {a.shape, b.shape}, [&](int64_t k, const int64_t* at) { y[k] = value(x[at[0]] + z[at[1]]); });
  }

  CodeGrid a_, b_, y_;
  float lo_ = 0, hi_ = 0;
  CodeAddition arithmetic_;
  std::vector<uint8_t> table_;  // [a << 8 | b]: add_codes of the two codes (on plain codes only)
  bool integer_ = false, writes_codes_ = false;
  std::unique_ptr<CodeAddKernel> kernel_;
  bool kernel_built_ = false;
};

}  // namespace

std::unique_ptr<Op> make_code_add(const Node& node, const Graph& graph) { return std::make_unique<CodeAdd>(node, graph); }

}  // namespace edgequant::engine
