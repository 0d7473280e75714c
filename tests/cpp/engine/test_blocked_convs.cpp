// The oneDNN backend told that a model has depthwise convs (Backend::describe_model) keeps float
// activations in 16-channel blocks from conv to conv: a depthwise -> pointwise -> pointwise chain
// with channel counts off the block (24, 40) and a stem of 3 channels, against the reference
// backend's loops; every output lies in channel blocks (nChw16c, or nChw8c where the CPU has no
// AVX-512), so no reorder runs between the layers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "backend/registry.h"

namespace edgequant::engine {
namespace {

struct Layer {
  int64_t ic, oc, k, stride, groups;
};

ConvGeometry geometry(const Layer& l, int64_t n, int64_t h, int64_t w) {
  ConvGeometry g{};
  g.n = n, g.ic = l.ic, g.oc = l.oc, g.ih = h, g.iw = w, g.kh = g.kw = l.k;
  g.pad_top = g.pad_left = g.pad_bottom = g.pad_right = l.k / 2;
  g.stride_h = g.stride_w = l.stride;
  g.dilation_h = g.dilation_w = 1;
  g.groups = l.groups;
  g.oh = (h + 2 * (l.k / 2) - l.k) / l.stride + 1;
  g.ow = (w + 2 * (l.k / 2) - l.k) / l.stride + 1;
  return g;
}

TEST(BlockedConvs, ADepthwiseNetworkKeepsSixteenChannelBlocksAndTheReferenceValues) {
  const std::vector<std::string> names = backend_names();
  if (std::find(names.begin(), names.end(), "onednn") == names.end()) GTEST_SKIP() << "no oneDNN backend";
  // stem 3 -> 32 (stride 2), depthwise 32, pointwise 32 -> 24, pointwise 24 -> 40, depthwise 40 (stride 2)
  const std::vector<Layer> layers{{3, 32, 3, 2, 1}, {32, 32, 3, 1, 32}, {32, 24, 1, 1, 1}, {24, 40, 1, 1, 1},
                                  {40, 40, 3, 2, 40}};
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.f, 1.f);
  auto fast = make_backend("onednn");
  fast->describe_model(ModelTraits{true});
  auto reference = make_backend("reference");

  int64_t n = 2, h = 29, w = 23;
  Tensor x = Tensor::zeros_f32({n, 3, h, w});
  for (float *v = x.f(), *end = v + x.numel(); v != end; ++v) *v = normal(rng);
  std::vector<float> want(x.f(), x.f() + x.numel());
  ConvPostOps post;
  post.activation.kind = Activation::Kind::clip;  // ReLU6, as MobileNet's
  post.activation.lo = 0.f, post.activation.hi = 6.f;
  for (size_t i = 0; i < layers.size(); ++i) {
    const ConvGeometry g = geometry(layers[i], n, h, w);
    std::vector<float> weights(static_cast<size_t>(g.oc * (g.ic / g.groups) * g.kh * g.kw)), bias(g.oc);
    for (float& v : weights) v = normal(rng) / std::sqrt(static_cast<float>(g.ic / g.groups * g.kh * g.kw));
    for (float& v : bias) v = 0.1f * normal(rng);
    Tensor y;
    fast->conv(g, weights.data(), bias.data(), post, {})->run(x, nullptr, false, y, {g.n, g.oc, g.oh, g.ow});
    ASSERT_TRUE(y.native) << "layer " << i << ": the output left the backend's layout";
    const std::string layout = y.native->layout();  // the CPU's block: 16 channels with AVX-512, 8 with AVX2
    EXPECT_TRUE(layout == "nChw16c" || layout == "nChw8c") << "layer " << i << ": " << layout;
    std::vector<float> out(static_cast<size_t>(g.n * g.oc * g.oh * g.ow));
    reference->conv(g, weights.data(), bias.data(), post, {})->run(want.data(), out.data());
    want = std::move(out);
    const float* got = y.f();
    for (size_t e = 0; e < want.size(); ++e)
      ASSERT_NEAR(got[e], want[e], 1e-4f * (1.f + std::fabs(want[e]))) << "layer " << i << ", element " << e;
    x = std::move(y);
    h = g.oh, w = g.ow;
  }
}

}  // namespace
}  // namespace edgequant::engine
