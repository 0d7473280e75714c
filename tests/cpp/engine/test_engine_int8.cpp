// INT8: dynamic and static (calibrated with min/max through the public API) against float32 on
// small random networks, on every registered backend, each against the reference backend.
#include <gtest/gtest.h>

#include <set>

#include "common/error.h"
#include "engine/engine_test_util.h"
#include "quant/range_observer.h"
#include "session/calibration.h"

using namespace edgequant::engine;
using namespace edgequant::engine::test;
using edgequant::InvalidArgument;
namespace quant = edgequant::quant;

namespace {

// x -> Conv 3x3 + Relu -> Conv 3x3 stride 2: the first Conv's output is read only by the second,
// so static mode hands it over already quantized.
Graph two_conv_net() {
  GraphBuilder b(71);
  b.input("x", {-1, 3, 12, 12}).output("y");
  b.conv("x", "c1", {8, 3, 3, 3}).attributes["pads"] = attr_ints({1, 1, 1, 1});
  b.node("Relu", {"c1"}, {"h"});
  Node& c2 = b.conv("h", "y", {8, 8, 3, 3});
  c2.attributes["pads"] = attr_ints({1, 1, 1, 1});
  c2.attributes["strides"] = attr_ints({2, 2});
  return b.graph;
}

// Two branches concatenated and read by a Conv (the u8 hand-off through Concat), a residual Add
// and a Gemm head.
Graph branchy_net() {
  GraphBuilder b(72);
  b.input("x", {-1, 4, 10, 10}).output("y");
  b.conv("x", "a", {8, 4, 3, 3}).attributes["pads"] = attr_ints({1, 1, 1, 1});
  b.node("Relu", {"a"}, {"ar"});
  b.conv("x", "c", {8, 4, 1, 1});
  b.node("Relu", {"c"}, {"cr"});
  b.node("Concat", {"ar", "cr"}, {"cat"}).attributes["axis"] = attr_int(1);
  b.conv("cat", "d", {16, 16, 3, 3}).attributes["pads"] = attr_ints({1, 1, 1, 1});
  b.conv("x", "proj", {16, 4, 1, 1});
  b.node("Add", {"d", "proj"}, {"s"});
  b.node("Relu", {"s"}, {"r"});
  b.node("GlobalAveragePool", {"r"}, {"g"});
  b.node("Flatten", {"g"}, {"f"});
  b.weights("fc", {5, 16});
  b.node("Gemm", {"f", "fc"}, {"y"}).attributes["transB"] = attr_int(1);
  return b.graph;
}

// Residual block whose output only a Conv reads: the fused Conv+Add hands that Conv its output
// (quantized, in static mode) while the residual stays float32.
Graph residual_net() {
  GraphBuilder b(74);
  b.input("x", {-1, 3, 10, 10}).output("y");
  b.conv("x", "c0", {8, 3, 3, 3}).attributes["pads"] = attr_ints({1, 1, 1, 1});
  b.node("Relu", {"c0"}, {"h"});
  b.conv("h", "c1", {8, 8, 3, 3}).attributes["pads"] = attr_ints({1, 1, 1, 1});
  b.node("Relu", {"c1"}, {"r1"});
  b.conv("r1", "c2", {8, 8, 3, 3}).attributes["pads"] = attr_ints({1, 1, 1, 1});
  b.node("Add", {"c2", "h"}, {"s"});
  b.node("Relu", {"s"}, {"r"});
  Node& down = b.conv("r", "y", {8, 8, 3, 3});
  down.attributes["strides"] = attr_ints({2, 2});
  return b.graph;
}

// A channel shuffle between convs (Reshape -> Transpose -> Reshape -> Split, folded into one DataMovement),
// then a Concat, a Flatten and a Gemm head: static mode moves the convs' u8 codes through the shuffle (each
// backend's layout of them made plain, or picked in place), as in ShuffleNetV2.
Graph shuffle_net() {
  GraphBuilder b(75);
  b.input("x", {-1, 4, 8, 8}).output("y");
  b.conv("x", "c0", {16, 4, 3, 3}).attributes["pads"] = attr_ints({1, 1, 1, 1});
  b.node("Relu", {"c0"}, {"h"});
  b.constant("five_d", Tensor::from_i64({0, 2, 8, 8, 8}));
  b.constant("four_d", Tensor::from_i64({0, 16, 8, 8}));
  b.node("Reshape", {"h", "five_d"}, {"r1"});
  b.node("Transpose", {"r1"}, {"t"}).attributes["perm"] = attr_ints({0, 2, 1, 3, 4});
  b.node("Reshape", {"t", "four_d"}, {"r2"});
  b.node("Split", {"r2"}, {"s0", "s1"}).attributes["axis"] = attr_int(1);
  b.conv("s0", "a", {8, 8, 3, 3}).attributes["pads"] = attr_ints({1, 1, 1, 1});
  b.node("Relu", {"a"}, {"ar"});
  b.conv("s1", "c", {8, 8, 1, 1});
  b.node("Concat", {"ar", "c"}, {"cat"}).attributes["axis"] = attr_int(1);
  b.node("Flatten", {"cat"}, {"f"});
  b.weights("fc", {6, 16 * 8 * 8});
  b.node("Gemm", {"f", "fc"}, {"y"}).attributes["transB"] = attr_int(1);
  return b.graph;
}

// Gemm + Relu -> MatMul with constant weights.
Graph mlp() {
  GraphBuilder b(73);
  b.input("x", {-1, 24}).output("y");
  b.weights("w1", {24, 32});
  b.constant("b1", random_tensor({32}, b.rng));
  b.node("Gemm", {"x", "w1", "b1"}, {"g"});
  b.node("Relu", {"g"}, {"h"});
  b.weights("w2", {32, 10});
  b.node("MatMul", {"h", "w2"}, {"y"});
  return b.graph;
}

Tensor random_input(const Graph& graph, int64_t batch, uint32_t seed) {
  std::mt19937 rng(seed);
  Shape shape = graph.inputs[0].shape;
  shape[0] = batch;
  return random_tensor(shape, rng);
}

// Min/max calibration over `batches` (each range includes 0) in FP32, as the Python front end does;
// the engine is left in FP32 mode.
void calibrate(Engine& engine, const std::vector<Tensor>& batches) {
  engine.set_mode(Mode::f32);
  Calibrator calibrator(engine, quant::RangeStrategy{});
  for (const Tensor& x : batches) calibrator.observe({x});
  calibrator.apply();
}

struct Int8Case {
  std::string name;
  Graph (*graph)();
  double static_bound, dynamic_bound;  // max error over the FP32 output's range
};

std::ostream& operator<<(std::ostream& os, const Int8Case& c) { return os << c.name; }

class Int8AgainstFp32 : public ::testing::TestWithParam<Int8Case> {};

TEST_P(Int8AgainstFp32, CloseToFp32OnEveryBackend) {
  const Int8Case& c = GetParam();
  const Graph graph = c.graph();
  const Tensor x = random_input(graph, 4, 1);
  std::vector<Tensor> calibration;
  for (uint32_t seed = 2; seed < 6; ++seed) calibration.push_back(random_input(graph, 4, seed));
  std::map<std::string, Tensor> results;
  for (const std::string& backend : all_backends()) {
    SCOPED_TRACE(backend);
    Engine engine(graph, options_for(backend));
    const Tensor fp32 = engine.run({x})[0];
    engine.set_mode(Mode::int8_dynamic);
    const Tensor dynamic = engine.run({x})[0];
    calibrate(engine, calibration);
    engine.set_mode(Mode::int8_static);
    const Tensor fixed = engine.run({x})[0];
    EXPECT_TRUE(all_close(engine.run({x})[0], fixed, 0)) << "a second static run differs";
    engine.set_mode(Mode::f32);
    EXPECT_TRUE(all_close(engine.run({x})[0], fp32, 0)) << "back to f32 is not f32";

    const double dynamic_error = error_over_range(dynamic, fp32), static_error = error_over_range(fixed, fp32);
    EXPECT_LT(dynamic_error, c.dynamic_bound);
    EXPECT_LT(static_error, c.static_bound);
    // Zero error would mean the INT8 path did not run at all.
    EXPECT_GT(dynamic_error, 1e-4);
    EXPECT_GT(static_error, 1e-4);
    results[std::string(backend) + " fp32"] = fp32;
    results[std::string(backend) + " dynamic"] = dynamic;
    results[std::string(backend) + " static"] = fixed;
  }
  // Same integer arithmetic on every backend: only the float rounding of rescales differs — and in
  // static mode oneDNN requantizes the tensors it hands over as u8 in float where the others use
  // TFLite's fixed point (QuantConfig::fixed_point): a code may differ by one there.
  for (const std::string& backend : compared_backends())
    for (const char* mode : {"fp32", "dynamic", "static"}) {
      SCOPED_TRACE(backend + " " + mode);
      const double tolerance = backend == "onednn" && std::string(mode) == "static" ? 1e-2 : 2e-3;
      EXPECT_TRUE(all_close(results[backend + " " + mode], results[reference_backend() + " " + mode], tolerance));
    }
}

INSTANTIATE_TEST_SUITE_P(Engine, Int8AgainstFp32,
                         ::testing::Values(Int8Case{"two_conv", two_conv_net, 0.015, 0.015},
                                           Int8Case{"branches_concat_residual_gemm", branchy_net, 0.03, 0.03},
                                           Int8Case{"residual", residual_net, 0.015, 0.015},
                                           Int8Case{"shuffle_flatten_gemm", shuffle_net, 0.03, 0.03},
                                           Int8Case{"mlp", mlp, 0.015, 0.015}),
                         [](const ::testing::TestParamInfo<Int8Case>& info) { return info.param.name; });

// The shuffle's halves travel as u8 codes in static mode (the moves pass the conv's codes through) on every
// backend: before, the moves read float and the convs after them quantized again.
TEST(EngineInt8, ShuffleMovesCodes) {
  const Graph graph = shuffle_net();
  std::vector<Tensor> calibration;
  for (uint32_t seed = 2; seed < 6; ++seed) calibration.push_back(random_input(graph, 4, seed));
  for (const std::string& backend : all_backends()) {
    SCOPED_TRACE(backend);
    Engine engine(graph, options_for(backend));
    calibrate(engine, calibration);
    engine.set_mode(Mode::int8_static);
    const auto codes = engine.integer_tensors();
    for (const char* name : {"h", "s0", "s1"}) EXPECT_TRUE(codes.count(name)) << name;
    EXPECT_EQ(codes.at("h"), codes.at("s0")) << "a move keeps its input's grid";
  }
}

// After release_float_weights an engine runs INT8 as before, rebuilds kernels for new shapes from
// the kept s8 weights, switches between the INT8 modes, and refuses FP32.
TEST(EngineInt8, ReleasedFloatWeights) {
  for (Graph (*make)() : {branchy_net, mlp})
    for (const std::string& backend : all_backends()) {
      const Graph graph = make();
      SCOPED_TRACE(std::string(backend) + ", " + graph.nodes.back().op_type);
      const Tensor x = random_input(graph, 4, 1), small = random_input(graph, 2, 2);
      Engine kept(graph, options_for(backend)), released(graph, options_for(backend));
      EXPECT_THROW(released.release_float_weights(), InvalidArgument);  // FP32 mode
      for (Engine* e : {&kept, &released}) {
        calibrate(*e, {random_input(graph, 4, 3)});
        e->set_mode(Mode::int8_static);
        e->run({x});
      }
      released.release_float_weights();
      EXPECT_TRUE(released.float_weights_released());
      EXPECT_TRUE(all_close(released.run({x})[0], kept.run({x})[0], 0));
      EXPECT_TRUE(all_close(released.run({small})[0], kept.run({small})[0], 0));  // kernels for a new shape
      released.set_activation_range(graph.inputs[0].name, -2, 2);  // re-planned without float weights
      kept.set_activation_range(graph.inputs[0].name, -2, 2);
      EXPECT_TRUE(all_close(released.run({x})[0], kept.run({x})[0], 0));
      for (Engine* e : {&kept, &released}) e->set_mode(Mode::int8_dynamic);
      EXPECT_TRUE(all_close(released.run({x})[0], kept.run({x})[0], 0));
      EXPECT_THROW(released.set_mode(Mode::f32), InvalidArgument);
      EXPECT_TRUE(all_close(released.run({x})[0], kept.run({x})[0], 0)) << "a refused mode change broke the engine";
    }
}

TEST(EngineInt8, CaptureRecordsTheCalibrationTensors) {
  Engine engine(two_conv_net(), options_for(default_backend()));
  const std::vector<std::string> names = engine.calibration_tensors();
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()), (std::set<std::string>{"x", "h"}));
  EXPECT_EQ(engine.quantizable_layers().size(), 2u);
  const Tensor x = random_input(engine.graph(), 2, 9);
  std::map<std::string, Tensor> capture;
  const Tensor y = engine.run({x}, &capture)[0];
  ASSERT_EQ(capture.size(), 2u);
  EXPECT_EQ(values_of(capture.at("x")), values_of(x));
  EXPECT_EQ(capture.at("h").shape, (Shape{2, 8, 12, 12}));
  EXPECT_FALSE(any_negative(capture.at("h"))) << "h is after the Relu";
  EXPECT_TRUE(all_close(engine.run({x})[0], y, 0)) << "capturing changed the result";
}

// The calibrator observes exactly the tensors a capture records, run by run, by any strategy.
TEST(EngineInt8, CalibratorObservesTheCapturedTensors) {
  for (const char* method : {"minmax", "percentile", "entropy", "mse"}) {
    Engine engine(two_conv_net(), options_for(default_backend()));
    quant::RangeStrategy strategy;
    strategy.method = quant::range_method_from_name(method);
    Calibrator calibrator(engine, strategy);
    std::map<std::string, quant::RangeObserver> expected;
    std::map<std::string, std::vector<double>> all_values;
    for (uint32_t seed = 1; seed <= 3; ++seed) {
      const Tensor x = random_input(engine.graph(), 2, seed);
      calibrator.observe({x});
      std::map<std::string, Tensor> capture;
      engine.run({x}, &capture);
      for (const auto& [name, t] : capture) {
        expected[name].observe(t.f(), t.numel());
        all_values[name].insert(all_values[name].end(), t.f(), t.f() + t.numel());
      }
    }
    const auto ranges = calibrator.ranges();
    ASSERT_EQ(ranges.size(), 2u);
    for (const auto& [name, range] : ranges) {
      const quant::ClipRange want = expected.at(name).range(strategy);
      EXPECT_EQ(range.first, static_cast<float>(want.lo)) << method << " " << name;
      EXPECT_EQ(range.second, static_cast<float>(want.hi)) << method << " " << name;
      if (strategy.method == quant::RangeMethod::minmax) {
        const quant::ClipRange reference = quant::range_reference(all_values.at(name), strategy);
        EXPECT_EQ(range.first, static_cast<float>(reference.lo));
        EXPECT_EQ(range.second, static_cast<float>(reference.hi));
      }
    }
    calibrator.apply();
    engine.set_mode(Mode::int8_static);
    EXPECT_THROW(calibrator.observe({random_input(engine.graph(), 2, 4)}), InvalidArgument) << "FP32 only";
  }
}

TEST(EngineInt8, SetActivationRangesChecksAllBeforeSettingAny) {
  Engine engine(two_conv_net(), options_for(default_backend()));
  EXPECT_THROW(engine.set_activation_ranges({{"x", {0.f, 1.f}}, {"nope", {0.f, 1.f}}}), InvalidArgument);
  EXPECT_THROW(engine.set_activation_ranges({{"x", {0.f, 1.f}}, {"h", {2.f, 1.f}}}), InvalidArgument);
  EXPECT_THROW(engine.activation_quantization("x"), InvalidArgument) << "nothing was set";
  engine.set_activation_ranges({{"x", {-1.f, 1.f}}, {"h", {0.f, 4.f}}});
  engine.set_mode(Mode::int8_static);
  EXPECT_EQ(engine.mode(), Mode::int8_static);
}

TEST(EngineInt8, StaticNeedsEveryRange) {
  for (const std::string& backend : all_backends()) {
    SCOPED_TRACE(backend);
    Engine engine(two_conv_net(), options_for(backend));
    EXPECT_THROW(engine.set_mode(Mode::int8_static), InvalidArgument);
    engine.set_activation_range("x", -1, 1);
    try {
      engine.set_mode(Mode::int8_static);
      ADD_FAILURE() << "static mode with a range missing for 'h'";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("'h'"), std::string::npos) << e.what();
    }
    EXPECT_EQ(engine.mode(), Mode::f32);
    EXPECT_THROW(engine.set_activation_range("y", 0, 1), InvalidArgument);  // not read by a quantizable layer
    EXPECT_THROW(engine.set_activation_range("h", 1, 0), InvalidArgument);
    EXPECT_THROW(engine.set_activation_range("h", 0, NAN), InvalidArgument);
    EXPECT_THROW(engine.set_activation_range("h", -INFINITY, 1), InvalidArgument);
    EXPECT_THROW(engine.activation_quantization("h"), InvalidArgument);
    engine.set_activation_range("h", 0, 4);
    engine.set_mode(Mode::int8_static);
    EXPECT_EQ(engine.mode(), Mode::int8_static);
  }
}

// In static mode a new range takes effect at once (the layers are re-planned).
TEST(EngineInt8, NewRangeInStaticModeTakesEffect) {
  const Graph graph = two_conv_net();
  const Tensor x = random_input(graph, 2, 3);
  Engine engine(graph, options_for(default_backend()));
  const Tensor fp32 = engine.run({x})[0];
  calibrate(engine, {x});
  engine.set_mode(Mode::int8_static);
  const double good = error_over_range(engine.run({x})[0], fp32);
  engine.set_activation_range("h", 0, 1000);  // a step of 4: h is O(1), so almost all of it rounds to 0
  const double bad = error_over_range(engine.run({x})[0], fp32);
  EXPECT_LT(good, 0.03);
  EXPECT_GT(bad, 5 * good);
  const auto sz = engine.activation_quantization("h");
  EXPECT_NEAR(sz.first, 1000.0 / 255, 1e-3);
  EXPECT_EQ(sz.second, 0);
}

// The u8 zero point of a signed input range: x in [-1, 1) quantized asymmetric, z near 128.
TEST(EngineInt8, ActivationQuantizationOfASignedRange) {
  Engine engine(two_conv_net(), options_for(reference_backend()));
  engine.set_activation_range("x", -1, 3);
  const auto sz = engine.activation_quantization("x");
  EXPECT_NEAR(sz.first, 4.0 / 255, 1e-6);
  EXPECT_NEAR(sz.second, 64, 1);
}

}  // namespace
