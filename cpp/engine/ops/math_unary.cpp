// Elementwise math ops of one input, from their ONNX definitions: Sqrt, Neg, Log, Floor, Ceil,
// Abs, Reciprocal, Tanh, Erf, Gelu (opset 20; approximate "none" or "tanh"), LeakyRelu, Elu,
// Softplus, Selu, Celu, ThresholdedRelu, Softsign, Sign and Round (half to even). Float32; Neg, Abs
// and Sign also take int64 (index arithmetic), negating with wrap-around so that INT64_MIN stays
// defined behaviour. IEEE semantics throughout: Log(0) = -inf, Sqrt(-1) = NaN, Reciprocal(0) = inf,
// NaN in gives NaN out. Tanh, Erf, Gelu and the exponential units (Elu, Selu, Celu) run
// vectorisable polynomial lanes (tanh_lane, erf_lane, gelu_lane of backend/vector_exp.h,
// expm1_lane below, within a few ulp); Log and Softplus call libm. A Gelu the engine recognised in
// an older model's written-out form (graph/activation_patterns.h, attribute `_written_out`) runs
// whatever the opset. The file is compiled without errno / trapping math
// (CMakeLists.txt) so loops vectorise.
#include <cmath>
#include <cstdint>

#include "backend/vector_exp.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

enum class Kind {
  sqrt, neg, log, floor, ceil, abs, reciprocal, tanh, erf, gelu, gelu_tanh, leaky_relu, elu, softplus,
  selu, celu, thresholded_relu, softsign, sign, round
};

Kind kind_of(const std::string& op_type, const std::string& approximate) {
  if (op_type == "Sqrt") return Kind::sqrt;
  if (op_type == "Neg") return Kind::neg;
  if (op_type == "Log") return Kind::log;
  if (op_type == "Floor") return Kind::floor;
  if (op_type == "Ceil") return Kind::ceil;
  if (op_type == "Abs") return Kind::abs;
  if (op_type == "Reciprocal") return Kind::reciprocal;
  if (op_type == "Tanh") return Kind::tanh;
  if (op_type == "Erf") return Kind::erf;
  if (op_type == "Gelu") return approximate == "tanh" ? Kind::gelu_tanh : Kind::gelu;
  if (op_type == "LeakyRelu") return Kind::leaky_relu;
  if (op_type == "Elu") return Kind::elu;
  if (op_type == "Selu") return Kind::selu;
  if (op_type == "Celu") return Kind::celu;
  if (op_type == "ThresholdedRelu") return Kind::thresholded_relu;
  if (op_type == "Softsign") return Kind::softsign;
  if (op_type == "Sign") return Kind::sign;
  if (op_type == "Round") return Kind::round;
  return Kind::softplus;
}

// The ops' attributes: alpha (LeakyRelu, Elu, Selu, Celu, ThresholdedRelu) and gamma (Selu).
struct Params {
  float alpha = 1, gamma = 1;
};

// e^x - 1 without cancellation near 0 (a Taylor polynomial for |x| < 0.35, truncation error below
// 1e-7 relative there), from the vectorisable exp_lane beyond. Selects only: the loops vectorise.
EDGEQUANT_INLINE float expm1_lane(float x) {
  const float small =
      x * (1 + x * (0.5f + x * (1 / 6.f + x * (1 / 24.f + x * (1 / 120.f + x * (1 / 720.f + x * (1 / 5040.f)))))));
  const float large = exp_lane(x) - 1.0f;
  return x > -0.35f && x < 0.35f ? small : large;
}

// log(1 + exp(x)) without overflow for large x and without losing small results for very negative x.
inline float softplus(float x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

template <Kind K>
void apply(const float* in, float* out, int64_t n, Params p) {
  const float alpha = p.alpha;
  constexpr float kSqrt2OverPi = 0.79788456080286536f;
  for (int64_t k = 0; k < n; ++k) {
    const float x = in[k];
    if constexpr (K == Kind::sqrt) out[k] = std::sqrt(x);
    if constexpr (K == Kind::neg) out[k] = -x;
    if constexpr (K == Kind::log) out[k] = std::log(x);
    if constexpr (K == Kind::floor) out[k] = std::floor(x);
    if constexpr (K == Kind::ceil) out[k] = std::ceil(x);
    if constexpr (K == Kind::abs) out[k] = std::fabs(x);
    if constexpr (K == Kind::reciprocal) out[k] = 1.0f / x;
    if constexpr (K == Kind::tanh) out[k] = tanh_lane(x);
    if constexpr (K == Kind::erf) out[k] = erf_lane(x);
    if constexpr (K == Kind::gelu) out[k] = gelu_lane(x);
    if constexpr (K == Kind::gelu_tanh)
      out[k] = 0.5f * x * (1.0f + tanh_lane(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
    if constexpr (K == Kind::leaky_relu) out[k] = x < 0 ? alpha * x : x;
    // Elu / Selu: e^x - 1 computed for every x, then a select (the form GCC vectorises; the value
    // dropped for x > 0 may be inf, harmlessly).
    if constexpr (K == Kind::elu) {
      const float e = alpha * expm1_lane(x);
      out[k] = x < 0 ? e : x;
    }
    if constexpr (K == Kind::softplus) out[k] = softplus(x);
    if constexpr (K == Kind::selu) {
      const float e = alpha * expm1_lane(x);
      out[k] = p.gamma * (x > 0 ? x : e);
    }
    if constexpr (K == Kind::celu)  // (std::max / std::min would turn a NaN into 0)
      out[k] = std::isnan(x) ? x : std::max(0.0f, x) + std::min(0.0f, alpha * expm1_lane(x / alpha));
    if constexpr (K == Kind::thresholded_relu) out[k] = x > alpha ? x : 0.0f;
    if constexpr (K == Kind::softsign) out[k] = x / (1.0f + std::fabs(x));
    if constexpr (K == Kind::sign) out[k] = x > 0 ? 1.0f : x < 0 ? -1.0f : x;  // 0 and NaN stay
    if constexpr (K == Kind::round) out[k] = std::nearbyint(x);  // the default rounding mode: half to even
  }
}

class MathUnary : public Op {
 public:
  MathUnary(const Node& node, const Graph& graph) : Op(node) {
    check(node.inputs.size() == 1 && node.outputs.size() == 1, "expects 1 input, 1 output");
    const std::string approximate = node.attr_s("approximate", "none");
    if (node.op_type == "Gelu") {
      check(graph.opset >= 20 || node.has("_written_out"),
            [&] { return "Gelu is an ONNX op from opset 20 (the model imports opset " + std::to_string(graph.opset) + ")"; });
      check(approximate == "none" || approximate == "tanh",
            [&] { return "approximate '" + approximate + "' is not supported (expected 'none' or 'tanh')"; });
    }
    // Before opset 6 these ops carried a `consumed_inputs` attribute (in-place hints of the
    // original Caffe2 exporter): harmless, ignored.
    kind_ = kind_of(node.op_type, approximate);
    // The defaults of ONNX's schemas (Selu's are the self-normalising constants).
    const float default_alpha = kind_ == Kind::leaky_relu ? 0.01f
                              : kind_ == Kind::selu       ? 1.67326319217681884765625f
                                                          : 1.0f;
    params_.alpha = node.attr_f("alpha", default_alpha);
    params_.gamma = node.attr_f("gamma", 1.05070102214813232421875f);
    check(kind_ != Kind::celu || params_.alpha != 0, "alpha must not be 0");
  }

  void run(RunContext&, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = input(inputs, 0);
    if (x.dtype == DType::i64) return run_int(x, outputs[0]);
    outputs[0] = Tensor::unspecified_f32(x.shape, description());  // every element written below
    const float* in = x.f();
    float* out = outputs[0].f();
    const int64_t n = x.numel();
    switch (kind_) {
      case Kind::sqrt: return apply<Kind::sqrt>(in, out, n, params_);
      case Kind::neg: return apply<Kind::neg>(in, out, n, params_);
      case Kind::log: return apply<Kind::log>(in, out, n, params_);
      case Kind::floor: return apply<Kind::floor>(in, out, n, params_);
      case Kind::ceil: return apply<Kind::ceil>(in, out, n, params_);
      case Kind::abs: return apply<Kind::abs>(in, out, n, params_);
      case Kind::reciprocal: return apply<Kind::reciprocal>(in, out, n, params_);
      case Kind::tanh: return apply<Kind::tanh>(in, out, n, params_);
      case Kind::erf: return apply<Kind::erf>(in, out, n, params_);
      case Kind::gelu: return apply<Kind::gelu>(in, out, n, params_);
      case Kind::gelu_tanh: return apply<Kind::gelu_tanh>(in, out, n, params_);
      case Kind::leaky_relu: return apply<Kind::leaky_relu>(in, out, n, params_);
      case Kind::elu: return apply<Kind::elu>(in, out, n, params_);
      case Kind::softplus: return apply<Kind::softplus>(in, out, n, params_);
      case Kind::selu: return apply<Kind::selu>(in, out, n, params_);
      case Kind::celu: return apply<Kind::celu>(in, out, n, params_);
      case Kind::thresholded_relu: return apply<Kind::thresholded_relu>(in, out, n, params_);
      case Kind::softsign: return apply<Kind::softsign>(in, out, n, params_);
      case Kind::sign: return apply<Kind::sign>(in, out, n, params_);
      case Kind::round: return apply<Kind::round>(in, out, n, params_);
    }
  }

 private:
  void run_int(const Tensor& x, Tensor& y) const {
    check(kind_ == Kind::neg || kind_ == Kind::abs || kind_ == Kind::sign, "expects a float input, got int64");
    y = Tensor::zeros_i64(x.shape, description());
    const int64_t n = x.numel();
    for (int64_t k = 0; k < n; ++k) {
      const int64_t v = x.i()[k];
      const int64_t negated = static_cast<int64_t>(uint64_t(0) - static_cast<uint64_t>(v));  // INT64_MIN wraps
      if (kind_ == Kind::sign) y.i()[k] = v > 0 ? 1 : v < 0 ? -1 : 0;
      else y.i()[k] = kind_ == Kind::neg || v < 0 ? negated : v;
    }
  }

  Kind kind_;
  Params params_;
};

}  // namespace

std::unique_ptr<Op> make_math_unary(const Node& node, const Graph& graph) {
  return std::make_unique<MathUnary>(node, graph);
}

}  // namespace edgequant::engine
