// Helpers of the engine tests: graphs built through the IR (the loader's protobuf headers are
// private to edgequant_engine), seeded random tensors, engines per backend, and comparisons that
// report the worst element.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "session/engine.h"

namespace edgequant::engine::test {

inline Attribute attr_int(int64_t v) {
  Attribute a;
  a.kind = Attribute::Kind::i;
  a.i = v;
  return a;
}

inline Attribute attr_float(float v) {
  Attribute a;
  a.kind = Attribute::Kind::f;
  a.f = v;
  return a;
}

inline Attribute attr_ints(std::vector<int64_t> v) {
  Attribute a;
  a.kind = Attribute::Kind::ints;
  a.ints = std::move(v);
  return a;
}

inline Attribute attr_string(const std::string& v) {
  Attribute a;
  a.kind = Attribute::Kind::s;
  a.s = v;
  return a;
}

inline Tensor tensor_of(const Shape& shape, const std::vector<float>& values) {
  Tensor t = Tensor::zeros_f32(shape);
  EXPECT_EQ(static_cast<int64_t>(values.size()), t.numel());
  std::copy(values.begin(), values.end(), t.f());
  return t;
}

// Uniform in [lo, hi).
inline Tensor random_tensor(const Shape& shape, std::mt19937& rng, float lo = -1, float hi = 1) {
  Tensor t = Tensor::zeros_f32(shape);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.f()[i] = dist(rng);
  return t;
}

// Plain float copy of any tensor (int64 converted).
inline std::vector<float> values_of(const Tensor& t) { return t.as_f32(); }

inline bool any_negative(const Tensor& t) {
  return std::any_of(t.f(), t.f() + t.numel(), [](float v) { return v < 0; });
}

// A Graph assembled node by node; nodes must be added in topological order (the loader's job
// otherwise), values keep their ONNX names.
class GraphBuilder {
 public:
  explicit GraphBuilder(uint32_t seed = 1) : rng(seed) {}

  GraphBuilder& input(const std::string& name, const Shape& shape, DType dtype = DType::f32) {
    ValueInfo info;
    info.name = name;
    info.dtype = dtype;
    info.shape = shape;
    graph.inputs.push_back(info);
    return *this;
  }
  GraphBuilder& output(const std::string& name) {
    ValueInfo info;
    info.name = name;
    graph.outputs.push_back(info);
    return *this;
  }
  const std::string& constant(const std::string& name, const Tensor& value) {
    graph.initializers[name] = value;
    return name;
  }
  // Weights scaled by 1/sqrt(fan_in) (fan_in = numel / shape[0]), so activations stay O(1).
  const std::string& weights(const std::string& name, const Shape& shape) {
    int64_t fan_in = 1;
    for (size_t d = 1; d < shape.size(); ++d) fan_in *= shape[d];
    const float bound = std::sqrt(3.0f / static_cast<float>(std::max<int64_t>(fan_in, 1)));
    return constant(name, random_tensor(shape, rng, -bound, bound));
  }
  Node& node(const std::string& op_type, std::vector<std::string> inputs, std::vector<std::string> outputs,
             const std::string& name = "") {
    Node n;
    n.op_type = op_type;
    n.name = name.empty() ? op_type + "_" + std::to_string(graph.nodes.size()) : name;
    n.inputs = std::move(inputs);
    n.outputs = std::move(outputs);
    graph.nodes.push_back(std::move(n));
    return graph.nodes.back();
  }
  // Conv `x` -> `y` with weights [oc, ic/group, k...] and a bias (unless `bias` is false).
  Node& conv(const std::string& x, const std::string& y, const Shape& weight_shape, bool bias = true) {
    std::vector<std::string> in = {x, weights(y + "/w", weight_shape)};
    if (bias) in.push_back(constant(y + "/b", random_tensor({weight_shape[0]}, rng, -0.5f, 0.5f)));
    return node("Conv", in, {y}, y + "/conv");
  }

  Graph graph;
  std::mt19937 rng;
};

// Backend-agnostic tests loop over every backend of the build (supported_backends()) and hold
// each against the reference backend: a backend is tested the moment it is registered.
inline std::vector<std::string> all_backends() { return backend_names(); }
// The yardstick: plain loops from the ONNX definitions, in every build.
inline const std::string& reference_backend() {
  static const std::string name = "reference";
  return name;
}
// Every backend but the reference: what is compared with it.
inline std::vector<std::string> compared_backends() {
  std::vector<std::string> names;
  for (const std::string& name : backend_names())
    if (name != reference_backend()) names.push_back(name);
  return names;
}

inline EngineOptions options_for(const std::string& backend, bool fuse = true) {
  EngineOptions options;
  options.backend = backend;
  options.threads = 1;  // the test machines are small and shared
  options.fuse = fuse;
  return options;
}

inline std::vector<Tensor> run_graph(const Graph& graph, const std::vector<Tensor>& inputs,
                                     const std::string& backend, bool fuse = true) {
  Engine engine(graph, options_for(backend, fuse));
  return engine.run(inputs);
}

// Passes when `actual` has `expected`'s shape and max |actual - expected| <= tol·max(1, max |expected|).
inline ::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, double tol) {
  if (actual.shape != expected.shape)
    return ::testing::AssertionFailure() << "shape " << shape_string(actual.shape) << ", expected "
                                         << shape_string(expected.shape);
  if (actual.dtype != DType::f32 || expected.dtype != DType::f32)
    return ::testing::AssertionFailure() << "not float32";
  double scale = 1, worst = 0;
  int64_t worst_at = -1;
  for (int64_t i = 0; i < expected.numel(); ++i) scale = std::max(scale, std::fabs(double(expected.f()[i])));
  for (int64_t i = 0; i < expected.numel(); ++i) {
    const double d = std::fabs(double(actual.f()[i]) - expected.f()[i]);
    if (std::isnan(d) || d > worst) {  // NaN counts as the worst
      worst = std::isnan(d) ? INFINITY : d;
      worst_at = i;
    }
  }
  if (worst <= tol * scale) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "max |diff| " << worst << " > " << tol << " * " << scale << " at element "
                                       << worst_at << " of " << shape_string(expected.shape) << ": "
                                       << actual.f()[worst_at] << " vs " << expected.f()[worst_at];
}

// max |a - b| over max(b) - min(b): quantization error relative to the output range.
inline double error_over_range(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape, b.shape);
  if (a.shape != b.shape) return INFINITY;
  float lo = INFINITY, hi = -INFINITY;
  double worst = 0;
  for (int64_t i = 0; i < b.numel(); ++i) {
    lo = std::min(lo, b.f()[i]);
    hi = std::max(hi, b.f()[i]);
    worst = std::max(worst, std::fabs(double(a.f()[i]) - b.f()[i]));
  }
  return worst / std::max(double(hi - lo), 1e-12);
}

}  // namespace edgequant::engine::test
