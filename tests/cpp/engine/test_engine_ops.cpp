// The engine's ops in float32: the oneDNN backend against the reference backend, with the graph
// passes on and off, and the reference against loops written here from the ONNX definitions (so a
// geometry mistake the two backends share, in the op itself, is caught too).
#include <gtest/gtest.h>

#include <limits>

#include "engine/engine_test_util.h"

using namespace edgequant::engine;
using namespace edgequant::engine::test;

namespace {

constexpr double kTol = 1e-5;

// Runs `graph` on every registered backend, passes on and off, each twice. Every result must equal the
// reference backend's without passes (the plainest path), a second run the first (no state kept
// between runs), and the inputs must be left untouched. Returns the reference results.
std::vector<Tensor> expect_backends_agree(const Graph& graph, const std::vector<Tensor>& inputs, double tol = kTol) {
  std::vector<std::vector<float>> before;
  for (const Tensor& t : inputs) before.push_back(values_of(t));
  const std::vector<Tensor> expected = run_graph(graph, inputs, reference_backend(), false);
  for (const std::string& backend : all_backends())
    for (bool fuse : {false, true}) {
      SCOPED_TRACE(std::string(backend) + (fuse ? ", passes on" : ", passes off"));
      Engine engine(graph, options_for(backend, fuse));
      for (int round = 0; round < 2; ++round) {
        SCOPED_TRACE("run " + std::to_string(round + 1));
        const std::vector<Tensor> got = engine.run(inputs);
        EXPECT_EQ(got.size(), expected.size());
        for (size_t k = 0; k < got.size() && k < expected.size(); ++k)
          EXPECT_TRUE(all_close(got[k], expected[k], tol)) << "output " << k;
        for (size_t k = 0; k < inputs.size(); ++k) EXPECT_EQ(values_of(inputs[k]), before[k]) << "input " << k;
      }
    }
  return expected;
}

// --- loops from the ONNX definitions -------------------------------------------------------

// 2-D NCHW convolution; pads [top, left, bottom, right]. A 1-D conv is run with height 1.
Tensor naive_conv(const Tensor& x, const Tensor& w, const Tensor* b, std::vector<int64_t> strides,
                  std::vector<int64_t> pads, std::vector<int64_t> dilations, int64_t group) {
  const bool one_d = x.rank() == 3;
  Tensor x4 = one_d ? x.reshaped({x.shape[0], x.shape[1], 1, x.shape[2]}) : x;
  Tensor w4 = one_d ? w.reshaped({w.shape[0], w.shape[1], 1, w.shape[2]}) : w;
  if (one_d) {
    strides = {1, strides[0]};
    pads = {0, pads[0], 0, pads[1]};
    dilations = {1, dilations[0]};
  }
  const int64_t n = x4.shape[0], ic = x4.shape[1], ih = x4.shape[2], iw = x4.shape[3];
  const int64_t oc = w4.shape[0], icg = w4.shape[1], kh = w4.shape[2], kw = w4.shape[3], ocg = oc / group;
  const int64_t oh = (ih + pads[0] + pads[2] - dilations[0] * (kh - 1) - 1) / strides[0] + 1;
  const int64_t ow = (iw + pads[1] + pads[3] - dilations[1] * (kw - 1) - 1) / strides[1] + 1;
  Tensor y = Tensor::zeros_f32({n, oc, oh, ow});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t o = 0; o < oc; ++o)
      for (int64_t r = 0; r < oh; ++r)
        for (int64_t c = 0; c < ow; ++c) {
          double acc = b ? b->f()[o] : 0;
          for (int64_t q = 0; q < icg; ++q)
            for (int64_t u = 0; u < kh; ++u)
              for (int64_t v = 0; v < kw; ++v) {
                const int64_t yy = r * strides[0] - pads[0] + u * dilations[0];
                const int64_t xx = c * strides[1] - pads[1] + v * dilations[1];
                if (yy < 0 || yy >= ih || xx < 0 || xx >= iw) continue;
                acc += double(x4.f()[((i * ic + o / ocg * icg + q) * ih + yy) * iw + xx]) *
                       w4.f()[((o * icg + q) * kh + u) * kw + v];
              }
          y.f()[((i * oc + o) * oh + r) * ow + c] = static_cast<float>(acc);
        }
  return one_d ? y.reshaped({n, oc, ow}) : y;
}

// Output length of a pooling axis; with ceil_mode no window may start in the end padding.
int64_t pool_extent(int64_t in, int64_t k, int64_t s, int64_t begin, int64_t end, bool ceil_mode) {
  const int64_t span = in + begin + end - k;
  int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  if (ceil_mode && (out - 1) * s >= in + begin) --out;
  return out;
}

// Max / average pooling; pads [top, left, bottom, right]. count_include_pad counts the explicit
// pads, not the ceil_mode overhang past them.
Tensor naive_pool(const Tensor& x, bool max, Shape k, Shape s, Shape pads, bool ceil_mode, bool count_include_pad) {
  const int64_t n = x.shape[0], c = x.shape[1], ih = x.shape[2], iw = x.shape[3];
  const int64_t oh = pool_extent(ih, k[0], s[0], pads[0], pads[2], ceil_mode);
  const int64_t ow = pool_extent(iw, k[1], s[1], pads[1], pads[3], ceil_mode);
  Tensor y = Tensor::zeros_f32({n, c, oh, ow});
  for (int64_t p = 0; p < n * c; ++p)
    for (int64_t r = 0; r < oh; ++r)
      for (int64_t q = 0; q < ow; ++q) {
        const int64_t y0 = r * s[0] - pads[0], x0 = q * s[1] - pads[1];
        double acc = max ? -std::numeric_limits<double>::infinity() : 0;
        int64_t inside = 0, counted = 0;
        for (int64_t yy = y0; yy < y0 + k[0]; ++yy)
          for (int64_t xx = x0; xx < x0 + k[1]; ++xx) {
            if (yy >= -pads[0] && yy < ih + pads[2] && xx >= -pads[1] && xx < iw + pads[3]) ++counted;
            if (yy < 0 || yy >= ih || xx < 0 || xx >= iw) continue;
            const float v = x.f()[(p * ih + yy) * iw + xx];
            acc = max ? std::max(acc, double(v)) : acc + v;
            ++inside;
          }
        y.f()[(p * oh + r) * ow + q] = static_cast<float>(max ? acc : acc / (count_include_pad ? counted : inside));
      }
  return y;
}

// --- Conv ----------------------------------------------------------------------------------

struct ConvCase {
  std::string name;
  Shape x, w;
  std::vector<int64_t> strides, pads, dilations;  // ONNX attributes (pads as [begin..., end...])
  int64_t group = 1;
  bool bias = true;
  std::string auto_pad;                 // empty: NOTSET
  std::vector<int64_t> resolved_pads;   // what auto_pad must come to, for the loop above
};

std::ostream& operator<<(std::ostream& os, const ConvCase& c) { return os << c.name; }

class ConvAgainstReference : public ::testing::TestWithParam<ConvCase> {};

TEST_P(ConvAgainstReference, BackendsAgreeWithTheDefinition) {
  const ConvCase& c = GetParam();
  const size_t spatial = c.w.size() - 2;
  GraphBuilder b(7);
  b.input("x", c.x).output("y");
  Node& conv = b.conv("x", "y", c.w, c.bias);
  if (!c.strides.empty()) conv.attributes["strides"] = attr_ints(c.strides);
  if (!c.pads.empty()) conv.attributes["pads"] = attr_ints(c.pads);
  if (!c.dilations.empty()) conv.attributes["dilations"] = attr_ints(c.dilations);
  if (c.group != 1) conv.attributes["group"] = attr_int(c.group);
  if (!c.auto_pad.empty()) conv.attributes["auto_pad"] = attr_string(c.auto_pad);
  conv.attributes["kernel_shape"] = attr_ints(Shape(c.w.begin() + 2, c.w.end()));
  const Tensor x = random_tensor(c.x, b.rng);
  const auto expected = expect_backends_agree(b.graph, {x});

  const Tensor& w = b.graph.initializers.at("y/w");
  const Tensor* bias = c.bias ? &b.graph.initializers.at("y/b") : nullptr;
  std::vector<int64_t> pads = !c.resolved_pads.empty() ? c.resolved_pads : c.pads;
  if (pads.empty()) pads.assign(2 * spatial, 0);
  const Tensor want = naive_conv(x, w, bias, c.strides.empty() ? std::vector<int64_t>(spatial, 1) : c.strides, pads,
                                 c.dilations.empty() ? std::vector<int64_t>(spatial, 1) : c.dilations, c.group);
  EXPECT_TRUE(all_close(expected[0], want, kTol));
}

INSTANTIATE_TEST_SUITE_P(
    Engine, ConvAgainstReference,
    ::testing::Values(
        ConvCase{"plain_3x3_pad1", {2, 3, 9, 9}, {8, 3, 3, 3}, {}, {1, 1, 1, 1}, {}},
        ConvCase{"odd_channels_blocked", {1, 20, 6, 7}, {36, 20, 3, 3}, {}, {1, 1, 1, 1}, {}},
        ConvCase{"groups2", {2, 4, 7, 7}, {6, 2, 3, 3}, {}, {1, 1, 1, 1}, {}, 2},
        ConvCase{"depthwise_stride2", {2, 8, 9, 9}, {8, 1, 3, 3}, {2, 2}, {1, 1, 1, 1}, {}, 8},
        ConvCase{"depthwise_multiplier2", {1, 4, 8, 8}, {8, 1, 3, 3}, {}, {1, 1, 1, 1}, {}, 4},
        ConvCase{"dilation2", {1, 4, 11, 11}, {5, 4, 3, 3}, {}, {2, 2, 2, 2}, {2, 2}},
        ConvCase{"dilation_and_stride_per_axis", {1, 3, 10, 13}, {4, 3, 3, 2}, {2, 1}, {}, {1, 3}},
        ConvCase{"asymmetric_pads", {2, 3, 8, 8}, {4, 3, 3, 3}, {}, {0, 1, 2, 0}, {}},
        ConvCase{"strides_2_3_no_bias", {1, 3, 11, 11}, {6, 3, 3, 3}, {2, 3}, {1, 1, 1, 1}, {}, 1, false},
        ConvCase{"kernel_5x1", {1, 2, 9, 6}, {3, 2, 5, 1}, {}, {2, 0, 2, 0}, {}},
        ConvCase{"pointwise_batch3", {3, 16, 5, 5}, {12, 16, 1, 1}, {}, {}, {}},
        ConvCase{"grouped_strided_dilated_asymmetric", {2, 6, 10, 9}, {9, 2, 3, 3}, {2, 1}, {1, 0, 0, 2}, {1, 2}, 3},
        ConvCase{"same_upper_stride2", {1, 3, 8, 8}, {4, 3, 3, 3}, {2, 2}, {}, {}, 1, true, "SAME_UPPER", {0, 0, 1, 1}},
        ConvCase{"same_lower_stride2", {1, 3, 8, 8}, {4, 3, 3, 3}, {2, 2}, {}, {}, 1, true, "SAME_LOWER", {1, 1, 0, 0}},
        ConvCase{"valid", {1, 3, 7, 6}, {4, 3, 3, 3}, {}, {}, {}, 1, true, "VALID", {0, 0, 0, 0}},
        ConvCase{"conv1d_strided_dilated", {2, 3, 20}, {5, 3, 4}, {2}, {1, 2}, {2}},
        ConvCase{"conv1d_depthwise", {1, 6, 15}, {6, 1, 3}, {}, {1, 1}, {}, 6},
        ConvCase{"conv1d_same_upper", {1, 2, 9}, {3, 2, 4}, {2}, {}, {}, 1, false, "SAME_UPPER", {1, 2}}),
    [](const ::testing::TestParamInfo<ConvCase>& info) { return info.param.name; });

// Relu and Clip (bounds as opset-11 inputs or opset-6 attributes) after a Conv are fused into it.
// NHWC -> NCHW of 3 and 4 interleaved channels (a TFLite model's RGB input: LD3 / LD4 on aarch64),
// pixel counts off the vector width, two images, large enough that the output comes from the
// session's recycled buffers (written without clearing): every value equals the definition's, on
// every run.
TEST(EngineOps, TransposeOfInterleavedChannelsToPlanes) {
  for (int64_t c : {3, 4})
    for (int64_t w : {1, 7, 131}) {
      SCOPED_TRACE("c " + std::to_string(c) + " w " + std::to_string(w));
      const Shape shape{2, 67, w, c};  // more than FloatBufferPool::kMinFloats values at w = 131
      GraphBuilder b(13);
      b.input("x", shape).output("y");
      b.node("Transpose", {"x"}, {"y"}).attributes["perm"] = attr_ints({0, 3, 1, 2});
      const Tensor x = random_tensor(shape, b.rng);
      Engine engine(b.graph, options_for(default_backend()));
      for (int round = 0; round < 3; ++round) {
        const Tensor y = engine.run({x})[0];
        ASSERT_EQ(y.shape, (Shape{2, c, 67, w}));
        for (int64_t n = 0; n < 2; ++n)
          for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t p = 0; p < 67 * w; ++p)
              ASSERT_EQ(y.f()[(n * c + ch) * 67 * w + p], x.f()[(n * 67 * w + p) * c + ch]) << n << " " << ch << " " << p;
      }
    }
}

TEST(EngineOps, ConvWithFusedActivations) {
  for (const std::string act : {"Relu", "ClipInputs", "ClipAttributes"}) {
    SCOPED_TRACE(act);
    GraphBuilder b(11);
    b.input("x", {2, 5, 8, 8}).output("y");
    b.conv("x", "c", {7, 5, 3, 3}).attributes["pads"] = attr_ints({1, 1, 1, 1});
    if (act == "Relu") {
      b.node("Relu", {"c"}, {"y"});
    } else if (act == "ClipInputs") {
      b.constant("lo", tensor_of({}, {-0.2f}));
      b.constant("hi", tensor_of({}, {0.3f}));
      b.node("Clip", {"c", "lo", "hi"}, {"y"});
    } else {
      Node& clip = b.node("Clip", {"c"}, {"y"});
      clip.attributes["min"] = attr_float(0.f);
      clip.attributes["max"] = attr_float(0.25f);
    }
    const Tensor x = random_tensor({2, 5, 8, 8}, b.rng);
    const auto expected = expect_backends_agree(b.graph, {x});
    Engine fused(b.graph, options_for(default_backend()));
    EXPECT_EQ(fused.graph().nodes.size(), 1u) << "the activation was not fused";
    const Tensor conv = naive_conv(x, b.graph.initializers.at("c/w"), &b.graph.initializers.at("c/b"), {1, 1},
                                   {1, 1, 1, 1}, {1, 1}, 1);
    const float lo = act == "Relu" ? 0.f : act == "ClipInputs" ? -0.2f : 0.f;
    const float hi = act == "Relu" ? INFINITY : act == "ClipInputs" ? 0.3f : 0.25f;
    Tensor want = Tensor::zeros_f32(conv.shape);
    for (int64_t i = 0; i < conv.numel(); ++i) want.f()[i] = std::min(std::max(conv.f()[i], lo), hi);
    EXPECT_TRUE(all_close(expected[0], want, kTol));
  }
}

// A Conv output that is also read elsewhere must not take the activation.
TEST(EngineOps, ConvOutputWithTwoReadersIsNotFused) {
  GraphBuilder b(12);
  b.input("x", {1, 3, 6, 6}).output("c").output("y");
  b.conv("x", "c", {4, 3, 3, 3}).attributes["pads"] = attr_ints({1, 1, 1, 1});
  b.node("Relu", {"c"}, {"y"});
  const Tensor x = random_tensor({1, 3, 6, 6}, b.rng);
  const auto out = expect_backends_agree(b.graph, {x});
  EXPECT_TRUE(any_negative(out[0])) << "the Conv output lost its negative values";
}

// Conv -> BatchNormalization -> Relu: the BN folded into the weights, as the unfolded op.
TEST(EngineOps, ConvBatchNormRelu) {
  GraphBuilder b(13);
  b.input("x", {2, 4, 7, 7}).output("y");
  b.conv("x", "c", {6, 4, 3, 3}).attributes["pads"] = attr_ints({1, 1, 1, 1});
  b.constant("gamma", random_tensor({6}, b.rng, 0.5f, 2.f));
  b.constant("beta", random_tensor({6}, b.rng));
  b.constant("mean", random_tensor({6}, b.rng));
  b.constant("var", random_tensor({6}, b.rng, 0.1f, 2.f));
  b.node("BatchNormalization", {"c", "gamma", "beta", "mean", "var"}, {"bn"}).attributes["epsilon"] = attr_float(1e-3f);
  b.node("Relu", {"bn"}, {"y"});
  const Tensor x = random_tensor({2, 4, 7, 7}, b.rng);
  const auto expected = expect_backends_agree(b.graph, {x});
  EXPECT_EQ(Engine(b.graph, options_for(default_backend())).graph().nodes.size(), 1u);
  const auto& init = b.graph.initializers;
  const Tensor conv = naive_conv(x, init.at("c/w"), &init.at("c/b"), {1, 1}, {1, 1, 1, 1}, {1, 1}, 1);
  Tensor want = Tensor::zeros_f32(conv.shape);
  for (int64_t i = 0; i < conv.numel(); ++i) {
    const int64_t c = i / 49 % 6;
    const float v = (conv.f()[i] - init.at("mean").f()[c]) / std::sqrt(init.at("var").f()[c] + 1e-3f) *
                        init.at("gamma").f()[c] + init.at("beta").f()[c];
    want.f()[i] = std::max(v, 0.f);
  }
  EXPECT_TRUE(all_close(expected[0], want, 1e-5));
}

// --- Gemm / MatMul -------------------------------------------------------------------------

struct GemmCase {
  std::string name;
  bool trans_a, trans_b;
  float alpha, beta;
  Shape c;  // empty: no C
  bool relu;
};

class GemmAgainstReference : public ::testing::TestWithParam<GemmCase> {};

TEST_P(GemmAgainstReference, BackendsAgreeWithTheDefinition) {
  const GemmCase& p = GetParam();
  const int64_t m = 5, k = 7, n = 6;
  GraphBuilder b(21);
  b.input("a", p.trans_a ? Shape{k, m} : Shape{m, k}).output("y");
  b.weights("B", p.trans_b ? Shape{n, k} : Shape{k, n});
  std::vector<std::string> in = {"a", "B"};
  if (!p.c.empty()) in.push_back(b.constant("C", random_tensor(p.c, b.rng)));
  Node& gemm = b.node("Gemm", in, {p.relu ? "g" : "y"});
  gemm.attributes["transA"] = attr_int(p.trans_a);
  gemm.attributes["transB"] = attr_int(p.trans_b);
  gemm.attributes["alpha"] = attr_float(p.alpha);
  gemm.attributes["beta"] = attr_float(p.beta);
  if (p.relu) b.node("Relu", {"g"}, {"y"});
  const Tensor a = random_tensor(b.graph.inputs[0].shape, b.rng);
  const auto expected = expect_backends_agree(b.graph, {a});

  const Tensor& B = b.graph.initializers.at("B");
  Tensor want = Tensor::zeros_f32({m, n});
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t q = 0; q < k; ++q)
        acc += double(p.trans_a ? a.f()[q * m + i] : a.f()[i * k + q]) * (p.trans_b ? B.f()[j * k + q] : B.f()[q * n + j]);
      acc *= p.alpha;
      if (!p.c.empty()) {
        const Tensor& C = b.graph.initializers.at("C");
        acc += p.beta * C.f()[C.numel() == 1 ? 0 : j];
      }
      want.f()[i * n + j] = static_cast<float>(p.relu ? std::max(acc, 0.0) : acc);
    }
  EXPECT_TRUE(all_close(expected[0], want, kTol));
}

INSTANTIATE_TEST_SUITE_P(Engine, GemmAgainstReference,
                         ::testing::Values(GemmCase{"plain", false, false, 1, 1, {6}, false},
                                           GemmCase{"transB_relu", false, true, 1, 1, {1, 6}, true},
                                           GemmCase{"transA_alpha_beta", true, false, 0.5f, 2.f, {1, 6}, false},
                                           GemmCase{"both_transposed_scalar_c", true, true, -1.5f, 0.25f, {1}, true},
                                           GemmCase{"no_c", false, true, 2.f, 1, {}, false}),
                         [](const ::testing::TestParamInfo<GemmCase>& info) { return info.param.name; });

TEST(EngineOps, MatMulConstantWeightsWithFusedClip) {
  GraphBuilder b(22);
  b.input("a", {2, 3, 6}).output("y");
  b.weights("B", {6, 4});
  b.node("MatMul", {"a", "B"}, {"m"});
  b.constant("lo", tensor_of({}, {-0.1f}));
  b.constant("hi", tensor_of({}, {0.2f}));
  b.node("Clip", {"m", "lo", "hi"}, {"y"});
  const Tensor a = random_tensor({2, 3, 6}, b.rng);
  const auto expected = expect_backends_agree(b.graph, {a});
  EXPECT_EQ(Engine(b.graph, options_for(default_backend())).graph().nodes.size(), 1u);
  const Tensor& B = b.graph.initializers.at("B");
  Tensor want = Tensor::zeros_f32({2, 3, 4});
  for (int64_t r = 0; r < 6; ++r)
    for (int64_t j = 0; j < 4; ++j) {
      double acc = 0;
      for (int64_t q = 0; q < 6; ++q) acc += double(a.f()[r * 6 + q]) * B.f()[q * 4 + j];
      want.f()[r * 4 + j] = std::min(std::max(static_cast<float>(acc), -0.1f), 0.2f);
    }
  EXPECT_TRUE(all_close(expected[0], want, kTol));
}

// Two activations, batched, B broadcast over A's batch or not.
TEST(EngineOps, MatMulOfTwoActivations) {
  for (const Shape& b_shape : {Shape{2, 5, 3}, Shape{5, 3}}) {
    SCOPED_TRACE(shape_string(b_shape));
    GraphBuilder b(23);
    b.input("a", {2, 4, 5}).input("b", b_shape).output("y");
    b.node("MatMul", {"a", "b"}, {"y"});
    const Tensor a = random_tensor({2, 4, 5}, b.rng), bb = random_tensor(b_shape, b.rng);
    const auto expected = expect_backends_agree(b.graph, {a, bb});
    Tensor want = Tensor::zeros_f32({2, 4, 3});
    for (int64_t t = 0; t < 2; ++t)
      for (int64_t i = 0; i < 4; ++i)
        for (int64_t j = 0; j < 3; ++j) {
          double acc = 0;
          for (int64_t q = 0; q < 5; ++q)
            acc += double(a.f()[(t * 4 + i) * 5 + q]) * bb.f()[(b_shape.size() == 3 ? t * 15 : 0) + q * 3 + j];
          want.f()[(t * 4 + i) * 3 + j] = static_cast<float>(acc);
        }
    EXPECT_TRUE(all_close(expected[0], want, kTol));
  }
}

// --- pooling -------------------------------------------------------------------------------

struct PoolCase {
  std::string name;
  bool max;
  Shape x, kernel, strides, pads;
  bool ceil_mode, count_include_pad;
  std::string auto_pad;
  Shape resolved_pads;
};

std::ostream& operator<<(std::ostream& os, const PoolCase& c) { return os << c.name; }

class PoolAgainstReference : public ::testing::TestWithParam<PoolCase> {};

TEST_P(PoolAgainstReference, BackendsAgreeWithTheDefinition) {
  const PoolCase& c = GetParam();
  GraphBuilder b(31);
  b.input("x", c.x).output("y");
  Node& pool = b.node(c.max ? "MaxPool" : "AveragePool", {"x"}, {"y"});
  pool.attributes["kernel_shape"] = attr_ints(c.kernel);
  pool.attributes["strides"] = attr_ints(c.strides);
  if (!c.pads.empty()) pool.attributes["pads"] = attr_ints(c.pads);
  if (c.ceil_mode) pool.attributes["ceil_mode"] = attr_int(1);
  if (!c.max) pool.attributes["count_include_pad"] = attr_int(c.count_include_pad);
  if (!c.auto_pad.empty()) pool.attributes["auto_pad"] = attr_string(c.auto_pad);
  const Tensor x = random_tensor(c.x, b.rng);
  const auto expected = expect_backends_agree(b.graph, {x});
  const Shape pads = !c.resolved_pads.empty() ? c.resolved_pads : !c.pads.empty() ? c.pads : Shape{0, 0, 0, 0};
  EXPECT_TRUE(all_close(expected[0], naive_pool(x, c.max, c.kernel, c.strides, pads, c.ceil_mode, c.count_include_pad),
                        kTol));
}

INSTANTIATE_TEST_SUITE_P(
    Engine, PoolAgainstReference,
    ::testing::Values(
        PoolCase{"max_3x3_s2_p1", true, {2, 5, 9, 9}, {3, 3}, {2, 2}, {1, 1, 1, 1}, false, false},
        PoolCase{"max_ceil", true, {1, 3, 8, 8}, {3, 3}, {2, 2}, {}, true, false},
        // ceil_mode's last window would start in the end padding: dropped
        PoolCase{"max_ceil_window_in_padding", true, {1, 2, 5, 5}, {2, 2}, {2, 2}, {1, 1, 1, 1}, true, false},
        PoolCase{"max_asymmetric", true, {1, 16, 7, 6}, {2, 3}, {1, 2}, {0, 1, 1, 0}, false, false},
        PoolCase{"max_same_upper", true, {1, 2, 8, 8}, {3, 3}, {2, 2}, {}, false, false, "SAME_UPPER", {0, 0, 1, 1}},
        PoolCase{"avg_exclude_pad", false, {2, 5, 9, 9}, {3, 3}, {2, 2}, {1, 1, 1, 1}, false, false},
        PoolCase{"avg_include_pad", false, {2, 5, 9, 9}, {3, 3}, {2, 2}, {1, 1, 1, 1}, false, true},
        PoolCase{"avg_ceil_exclude_pad", false, {1, 3, 8, 8}, {3, 3}, {2, 2}, {1, 1, 1, 1}, true, false},
        // the last window runs past the explicit pad: only the explicit pad is counted
        PoolCase{"avg_ceil_include_pad", false, {1, 3, 8, 8}, {3, 3}, {2, 2}, {1, 1, 1, 1}, true, true},
        PoolCase{"avg_ceil_include_pad_no_pads", false, {1, 17, 6, 7}, {2, 2}, {2, 2}, {}, true, true},
        PoolCase{"avg_asymmetric_include_pad", false, {1, 4, 7, 7}, {2, 3}, {1, 2}, {0, 1, 2, 0}, false, true},
        PoolCase{"avg_same_lower_exclude_pad", false, {1, 2, 7, 7}, {2, 2}, {1, 1}, {}, false, false, "SAME_LOWER",
                 {1, 1, 0, 0}}),
    [](const ::testing::TestParamInfo<PoolCase>& info) { return info.param.name; });

TEST(EngineOps, GlobalAveragePool) {
  GraphBuilder b(32);
  b.input("x", {2, 7, 5, 6}).output("y");
  b.node("GlobalAveragePool", {"x"}, {"y"});
  const Tensor x = random_tensor({2, 7, 5, 6}, b.rng);
  const auto expected = expect_backends_agree(b.graph, {x});
  Tensor want = Tensor::zeros_f32({2, 7, 1, 1});
  for (int64_t p = 0; p < 14; ++p) {
    double acc = 0;
    for (int64_t i = 0; i < 30; ++i) acc += x.f()[p * 30 + i];
    want.f()[p] = static_cast<float>(acc / 30);
  }
  EXPECT_TRUE(all_close(expected[0], want, kTol));
}

// --- elementwise and data movement ---------------------------------------------------------

// numpy broadcasting of a and b (ranks up to 4) into `out`.
Tensor naive_binary(const Tensor& a, const Tensor& b, char op) {
  Shape sa(4, 1), sb(4, 1), out(4);
  for (int k = 0; k < a.rank(); ++k) sa[4 - a.rank() + k] = a.shape[k];
  for (int k = 0; k < b.rank(); ++k) sb[4 - b.rank() + k] = b.shape[k];
  for (int k = 0; k < 4; ++k) out[k] = std::max(sa[k], sb[k]);
  Tensor y = Tensor::zeros_f32(out);
  int64_t i = 0;
  for (int64_t d0 = 0; d0 < out[0]; ++d0)
    for (int64_t d1 = 0; d1 < out[1]; ++d1)
      for (int64_t d2 = 0; d2 < out[2]; ++d2)
        for (int64_t d3 = 0; d3 < out[3]; ++d3, ++i) {
          auto at = [&](const Tensor& t, const Shape& s) {
            const int64_t idx[4] = {d0 % s[0], d1 % s[1], d2 % s[2], d3 % s[3]};
            return t.f()[((idx[0] * s[1] + idx[1]) * s[2] + idx[2]) * s[3] + idx[3]];
          };
          const float u = at(a, sa), v = at(b, sb);
          y.f()[i] = op == '+' ? u + v : op == '-' ? u - v : op == '*' ? u * v : u / v;
        }
  const int rank = std::max(a.rank(), b.rank());
  return y.reshaped(Shape(out.end() - rank, out.end()));
}

TEST(EngineOps, BinaryBroadcasting) {
  struct Case {
    const char* op;
    char symbol;
    Shape a, b;
    bool b_constant;
  };
  const Case cases[] = {
      {"Add", '+', {2, 3, 4, 5}, {2, 3, 4, 5}, false}, {"Add", '+', {2, 3, 4, 5}, {3, 1, 1}, false},
      {"Add", '+', {2, 3, 4, 5}, {5}, true},          {"Add", '+', {2, 1, 4, 1}, {1, 3, 1, 5}, false},
      {"Add", '+', {4, 5}, {}, true},                  {"Add", '+', {1, 3, 4, 5}, {2, 3, 4, 5}, true},
      {"Sub", '-', {3, 1}, {1, 4}, false},             {"Mul", '*', {2, 3, 4, 5}, {1, 3, 1, 1}, true},
      {"Div", '/', {2, 3, 4}, {3, 1}, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.op) + " " + shape_string(c.a) + " " + shape_string(c.b));
    GraphBuilder b(41);
    b.input("a", c.a).output("y");
    const Tensor a = random_tensor(c.a, b.rng);
    const Tensor other = random_tensor(c.b, b.rng, 0.5f, 2.f);  // away from 0: Div
    std::vector<Tensor> inputs = {a};
    if (c.b_constant) {
      b.constant("b", other);
    } else {
      b.input("b", c.b);
      inputs.push_back(other);
    }
    b.node(c.op, {"a", "b"}, {"y"});
    const auto expected = expect_backends_agree(b.graph, inputs);
    EXPECT_TRUE(all_close(expected[0], naive_binary(a, other, c.symbol), kTol));
  }
}

TEST(EngineOps, ConcatOfPlainInputs) {
  for (int64_t axis : {0, 1, -1}) {
    SCOPED_TRACE("axis " + std::to_string(axis));
    const int ax = axis < 0 ? 2 : static_cast<int>(axis);
    Shape s1 = {2, 3, 4}, s2 = s1, s3 = s1;
    s2[ax] = 1;
    s3[ax] = 5;
    GraphBuilder b(42);
    b.input("a", s1).input("b", s2).input("c", s3).output("y");
    b.node("Concat", {"a", "b", "c"}, {"y"}).attributes["axis"] = attr_int(axis);
    const std::vector<Tensor> in = {random_tensor(s1, b.rng), random_tensor(s2, b.rng), random_tensor(s3, b.rng)};
    const auto expected = expect_backends_agree(b.graph, in);
    Shape out = s1;
    out[ax] = s1[ax] + s2[ax] + s3[ax];
    ASSERT_EQ(expected[0].shape, out);
    int64_t outer = 1;
    for (int d = 0; d < ax; ++d) outer *= out[d];
    std::vector<float> want;
    for (int64_t o = 0; o < outer; ++o)
      for (const Tensor& t : in) {
        const int64_t row = t.numel() / outer;
        want.insert(want.end(), t.f() + o * row, t.f() + (o + 1) * row);
      }
    EXPECT_EQ(values_of(expected[0]), want);
  }
}

// Convolution outputs (in oneDNN's blocked layout) concatenated along channels, with a plain
// input among them and channel counts that are not multiples of the block size.
TEST(EngineOps, ConcatOfConvOutputs) {
  GraphBuilder b(43);
  b.input("x", {2, 3, 6, 6}).output("y");
  b.conv("x", "c1", {8, 3, 3, 3}).attributes["pads"] = attr_ints({1, 1, 1, 1});
  b.conv("x", "c2", {16, 3, 1, 1});
  b.conv("x", "c3", {5, 3, 3, 3}).attributes["pads"] = attr_ints({1, 1, 1, 1});
  b.node("Relu", {"c3"}, {"r3"});
  b.node("Concat", {"c1", "x", "c2", "r3"}, {"cat"}).attributes["axis"] = attr_int(1);
  b.conv("cat", "y", {4, 32, 3, 3});
  expect_backends_agree(b.graph, {random_tensor({2, 3, 6, 6}, b.rng)});
}

// A small CNN end to end: Conv-BN-Relu, MaxPool, depthwise Conv-Clip, pointwise Conv + residual,
// GlobalAveragePool, Flatten, Gemm, Softmax.
TEST(EngineOps, SmallNetwork) {
  GraphBuilder b(44);
  b.input("x", {-1, 3, 16, 16}).output("prob");
  b.conv("x", "c1", {16, 3, 3, 3}).attributes["pads"] = attr_ints({1, 1, 1, 1});
  b.constant("g", random_tensor({16}, b.rng, 0.5f, 1.5f));
  b.constant("be", random_tensor({16}, b.rng));
  b.constant("mu", random_tensor({16}, b.rng));
  b.constant("var", random_tensor({16}, b.rng, 0.5f, 1.5f));
  b.node("BatchNormalization", {"c1", "g", "be", "mu", "var"}, {"bn1"});
  b.node("Relu", {"bn1"}, {"r1"});
  Node& pool = b.node("MaxPool", {"r1"}, {"p1"});
  pool.attributes["kernel_shape"] = attr_ints({3, 3});
  pool.attributes["strides"] = attr_ints({2, 2});
  pool.attributes["pads"] = attr_ints({1, 1, 1, 1});
  Node& dw = b.conv("p1", "c2", {16, 1, 3, 3});
  dw.attributes["group"] = attr_int(16);
  dw.attributes["pads"] = attr_ints({1, 1, 1, 1});
  b.constant("zero", tensor_of({}, {0.f}));
  b.constant("six", tensor_of({}, {6.f}));
  b.node("Clip", {"c2", "zero", "six"}, {"r2"});
  b.conv("r2", "c3", {16, 16, 1, 1});
  b.node("Add", {"c3", "p1"}, {"s3"});
  b.node("Relu", {"s3"}, {"r3"});
  b.node("GlobalAveragePool", {"r3"}, {"gap"});
  b.node("Flatten", {"gap"}, {"flat"});
  b.weights("fc/w", {10, 16});
  b.constant("fc/b", random_tensor({10}, b.rng));
  b.node("Gemm", {"flat", "fc/w", "fc/b"}, {"logits"}).attributes["transB"] = attr_int(1);
  b.node("Softmax", {"logits"}, {"prob"}).attributes["axis"] = attr_int(1);
  for (int64_t batch : {1, 3}) {
    SCOPED_TRACE("batch " + std::to_string(batch));
    expect_backends_agree(b.graph, {random_tensor({batch, 3, 16, 16}, b.rng)});
  }
}

// Resize 'linear' (bilinear over H, W) against the ONNX definition written out here: the source
// coordinate per mode, clamped to the input, then the two neighbours on each axis weighted by distance.
TEST(EngineOps, ResizeLinearFromTheDefinition) {
  const Shape in{2, 3, 5, 7}, out{2, 3, 9, 4};
  for (const std::string mode : {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"}) {
    SCOPED_TRACE(mode);
    GraphBuilder b(41);
    b.graph.opset = 13;
    b.input("x", in).output("y");
    b.constant("sizes", Tensor::from_i64({out[0], out[1], out[2], out[3]}));
    Node& resize = b.node("Resize", {"x", "", "", "sizes"}, {"y"});
    resize.attributes["mode"] = attr_string("linear");
    resize.attributes["coordinate_transformation_mode"] = attr_string(mode);
    const Tensor x = random_tensor(in, b.rng);
    const auto got = expect_backends_agree(b.graph, {x});
    auto source = [&](int64_t o, int64_t in_len, int64_t out_len) {
      const double scale = static_cast<double>(out_len) / in_len;
      double c = mode == "asymmetric"      ? o / scale
                 : mode == "align_corners" ? (out_len > 1 ? o * (in_len - 1.0) / (out_len - 1.0) : 0.0)
                 : mode == "pytorch_half_pixel" && out_len == 1 ? 0.0
                                                                : (o + 0.5) / scale - 0.5;
      return std::min(std::max(c, 0.0), in_len - 1.0);
    };
    Tensor want = Tensor::zeros_f32(out);
    for (int64_t p = 0; p < out[0] * out[1]; ++p)
      for (int64_t r = 0; r < out[2]; ++r)
        for (int64_t c = 0; c < out[3]; ++c) {
          const double sy = source(r, in[2], out[2]), sx = source(c, in[3], out[3]);
          const int64_t y0 = static_cast<int64_t>(sy), x0 = static_cast<int64_t>(sx);
          const int64_t y1 = std::min(y0 + 1, in[2] - 1), x1 = std::min(x0 + 1, in[3] - 1);
          const double dy = sy - y0, dx = sx - x0;
          auto at = [&](int64_t yy, int64_t xx) { return double(x.f()[(p * in[2] + yy) * in[3] + xx]); };
          want.f()[(p * out[2] + r) * out[3] + c] = static_cast<float>(
              (1 - dy) * ((1 - dx) * at(y0, x0) + dx * at(y0, x1)) + dy * ((1 - dx) * at(y1, x0) + dx * at(y1, x1)));
        }
    EXPECT_TRUE(all_close(got[0], want, kTol));
  }
}

}  // namespace
