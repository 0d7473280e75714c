// Quantized tensors (graph/tensor.h): u8 / s8 codes with their (scale, zero point) read as real
// values, and a static INT8 plan passing them between layers on every backend that has integer
// kernels — with outputs bit-identical to the same plan handed over as float.
#include <gtest/gtest.h>

#include <set>

#include "engine/engine_test_util.h"
#include "session/calibration.h"

using namespace edgequant::engine;
using namespace edgequant::engine::test;
namespace quant = edgequant::quant;

namespace {

TEST(QuantizedTensor, ReadsAsRealValues) {
  Tensor t = Tensor::quantized(DType::u8, {2, 3}, QuantParams::per_tensor(0.5f, 10));
  for (int k = 0; k < 6; ++k) t.u8()[k] = static_cast<uint8_t>(k == 5 ? 255 : 10 + k);
  EXPECT_TRUE(t.is_quantized());
  EXPECT_TRUE(t.is_real());
  EXPECT_TRUE(t.holds_u8(0.5f, 10));
  EXPECT_FALSE(t.holds_u8(0.5f, 11));
  EXPECT_EQ(values_of(t), (std::vector<float>{0, 0.5f, 1, 1.5f, 2, 122.5f}));
  const Tensor f = t.as_float();
  EXPECT_EQ(f.dtype, DType::f32);
  EXPECT_EQ(values_of(f), values_of(t));
  EXPECT_STREQ(dtype_name(DType::u8), "uint8");
  EXPECT_EQ(dtype_size(DType::s8), 1u);
}

TEST(QuantizedTensor, PerChannelSignedCodes) {
  QuantParams params{{1.f, 0.25f}, {0, -128}, 1};  // axis 1 of [1, 2, 2]
  Tensor t = Tensor::quantized(DType::s8, {1, 2, 2}, params);
  const int8_t codes[4] = {-3, 7, -128, 127};
  std::copy(codes, codes + 4, t.s8());
  EXPECT_EQ(values_of(t), (std::vector<float>{-3, 7, 0, 63.75f}));
  EXPECT_FALSE(t.holds_u8(1.f, 0)) << "s8 per channel is not a u8 grid";
  EXPECT_EQ(t.reshaped({4}).as_f32(), values_of(t)) << "a reshape keeps the codes and their parameters";
}

TEST(QuantizedTensor, RefusesMissingParameters) {
  EXPECT_THROW(Tensor::quantized(DType::u8, {2}, QuantParams{}), edgequant::InvalidArgument);
  EXPECT_THROW(Tensor::quantized(DType::i64, {2}, QuantParams::per_tensor(1, 0)), edgequant::InvalidArgument);
}

// x -> Conv+Relu -> MaxPool -> Conv+Relu -> Concat with a second branch -> Conv+residual -> Conv:
// every hand-off between INT8 layers a u8 tensor in static mode.
Graph quantized_chain() {
  GraphBuilder b(91);
  b.input("x", {-1, 3, 12, 12}).output("y");
  b.conv("x", "c1", {8, 3, 3, 3}).attributes["pads"] = attr_ints({1, 1, 1, 1});
  b.node("Relu", {"c1"}, {"h1"});
  Node& pool = b.node("MaxPool", {"h1"}, {"p"});
  pool.attributes["kernel_shape"] = attr_ints({2, 2});
  pool.attributes["strides"] = attr_ints({2, 2});
  b.conv("p", "a", {8, 8, 3, 3}).attributes["pads"] = attr_ints({1, 1, 1, 1});
  b.node("Relu", {"a"}, {"ar"});
  b.conv("p", "c", {4, 8, 1, 1});
  b.node("Relu", {"c"}, {"cr"});
  b.node("Concat", {"ar", "cr"}, {"cat"}).attributes["axis"] = attr_int(1);
  b.conv("cat", "d", {12, 12, 3, 3}).attributes["pads"] = attr_ints({1, 1, 1, 1});
  b.node("Add", {"d", "cat"}, {"s"});
  b.node("Relu", {"s"}, {"r"});
  b.conv("r", "y", {5, 12, 3, 3});
  return b.graph;
}

// The u8 codes values on the grid (scale, zero_point) stand for.
std::vector<int> codes_of(const Tensor& t, float scale, int32_t zero_point) {
  std::vector<int> codes;
  for (float v : values_of(t)) codes.push_back(static_cast<int>(std::lround(v / scale)) + zero_point);
  return codes;
}

Tensor input_batch(uint32_t seed) {
  std::mt19937 rng(seed);
  return random_tensor({2, 3, 12, 12}, rng);
}

// Ranges calibrated once, on the reference backend: a backend whose float sums round in another
// order (ARM's FP32 kernels) would move them in the last bits.
const std::map<std::string, std::pair<float, float>>& ranges() {
  static const std::map<std::string, std::pair<float, float>> calibrated = [] {
    Engine engine(quantized_chain(), options_for(reference_backend()));
    Calibrator calibrator(engine, quant::RangeStrategy{});
    for (uint32_t seed : {1u, 2u, 3u}) calibrator.observe({input_batch(seed)});
    return calibrator.ranges();
  }();
  return calibrated;
}

std::vector<Tensor> static_outputs(Engine& engine, std::map<std::string, Tensor>* capture) {
  engine.set_activation_ranges(ranges());
  engine.set_mode(Mode::int8_static);
  return engine.run({input_batch(7)}, capture);
}

// The backends with integer kernels between layers; `checked` hands float values over (its
// kernels check the plain-pointer interface), the same plan's other form.
bool passes_codes(const std::string& backend) { return backend != "checked"; }

TEST(QuantizedTensor, StaticPlanPassesCodesBetweenLayers) {
  std::map<std::string, Tensor> reference_capture;
  Engine reference(quantized_chain(), options_for(reference_backend()));
  const Tensor expected = static_outputs(reference, &reference_capture)[0];
  EXPECT_EQ(expected.dtype, DType::f32) << "graph outputs leave as float";
  for (const std::string& backend : all_backends()) {
    SCOPED_TRACE(backend);
    Engine engine(quantized_chain(), options_for(backend));
    std::map<std::string, Tensor> capture;
    const Tensor y = static_outputs(engine, &capture)[0];
    EXPECT_EQ(y.dtype, DType::f32);
    // The calibration tensors of the static run: every conv's input but the graph input's.
    for (const char* name : {"p", "cat", "r"}) {
      SCOPED_TRACE(name);
      const Tensor& t = capture.at(name);
      if (!passes_codes(backend)) {
        EXPECT_EQ(t.dtype, DType::f32);
        continue;
      }
      EXPECT_EQ(t.dtype, DType::u8);
      const auto [scale, zero_point] = engine.activation_quantization(name);
      EXPECT_TRUE(t.quant.is_per_tensor(scale, zero_point));
      // The same codes as the reference backend's, or one apart where oneDNN's fused
      // requantization rounds a conv's output in its own order.
      const std::vector<int> codes = codes_of(t, scale, zero_point);
      const std::vector<int> expected_codes = codes_of(reference_capture.at(name), scale, zero_point);
      ASSERT_EQ(codes.size(), expected_codes.size());
      int worst = 0;
      for (size_t k = 0; k < codes.size(); ++k) worst = std::max(worst, std::abs(codes[k] - expected_codes[k]));
      EXPECT_LE(worst, backend == "onednn" ? 1 : 0);
    }
    EXPECT_EQ(capture.at("x").dtype, DType::f32) << "the graph input stays float";
    // Codes or float hand-off: the same integers, so the same outputs bit for bit. oneDNN
    // requantizes in float where the others use TFLite's fixed point: a code of an intermediate
    // tensor may differ by one.
    EXPECT_TRUE(all_close(y, expected, backend == "onednn" ? 1e-2 : 0));
  }
}

}  // namespace
