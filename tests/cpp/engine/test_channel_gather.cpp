// The oneDNN backend's channel gathers (backend/onednn/channel_gather.cpp) through the Backend
// interface, against a plain gather written from the definition y[n, c] = x[n, sources[c]]: channel
// picks of conv outputs in 16-channel blocks (channel shuffles' halves drawing on two and three
// source blocks, repeated and reversed channels, counts off the block) and Concats of blocked inputs
// whose channel counts cut a block; outputs stay in the blocked layout (16 channels, or 8 where the
// CPU has no AVX-512: its lane loop), padding lanes included.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "backend/registry.h"

namespace edgequant::engine {
namespace {

// Channel blocks of the CPU's width: 16 with AVX-512, 8 with AVX2.
bool blocked(const Tensor& t) {
  return t.native && (t.native->layout() == "nChw16c" || t.native->layout() == "nChw8c");
}

bool has_onednn() {
  const std::vector<std::string> names = backend_names();
  return std::find(names.begin(), names.end(), "onednn") != names.end();
}

// A 1x1 conv's output of `channels` in the backend's layout (16-channel blocks: a depthwise model).
Tensor conv_output(Backend& backend, int64_t n, int64_t channels, int64_t h, int64_t w, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.f, 1.f);
  ConvGeometry g{};
  g.n = n, g.ic = 16, g.oc = channels, g.ih = g.oh = h, g.iw = g.ow = w, g.kh = g.kw = 1;
  g.stride_h = g.stride_w = g.dilation_h = g.dilation_w = g.groups = 1;
  std::vector<float> weights(static_cast<size_t>(channels * 16)), bias(static_cast<size_t>(channels));
  for (float& v : weights) v = normal(rng);
  for (float& v : bias) v = normal(rng);
  Tensor x = Tensor::zeros_f32({n, 16, h, w});
  for (float *v = x.f(), *end = v + x.numel(); v != end; ++v) *v = normal(rng);
  Tensor y;
  backend.conv(g, weights.data(), bias.data(), {}, {})->run(x, nullptr, false, y, {n, channels, h, w});
  return y;
}

// y[n, c] = x[n, sources[c]] of plain [N, C, H, W] values.
std::vector<float> picked(const Tensor& x, const std::vector<int64_t>& sources) {
  const int64_t n = x.shape[0], c_in = x.shape[1], plane = x.shape[2] * x.shape[3];
  const int64_t c_out = static_cast<int64_t>(sources.size());
  std::vector<float> out(static_cast<size_t>(n * c_out * plane));
  const float* in = x.f();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < c_out; ++c)
      std::copy_n(in + (i * c_in + sources[c]) * plane, plane, out.begin() + (i * c_out + c) * plane);
  return out;
}

void expect_values(const Tensor& y, const std::vector<float>& want, const std::string& what) {
  ASSERT_EQ(y.numel(), static_cast<int64_t>(want.size())) << what;
  const float* got = y.f();
  for (size_t e = 0; e < want.size(); ++e) ASSERT_EQ(got[e], want[e]) << what << ", element " << e;
}

// The halves of a channel shuffle of `channels` (groups of 2), as torchvision's ShuffleNetV2 exports it.
std::vector<std::vector<int64_t>> shuffle_halves(int64_t channels) {
  std::vector<std::vector<int64_t>> halves(2);
  for (int64_t j = 0; j < channels; ++j) halves[j < channels / 2 ? 0 : 1].push_back((j % 2) * (channels / 2) + j / 2);
  return halves;
}

TEST(ChannelGather, PicksEqualThePlainGatherAndStayBlocked) {
  if (!has_onednn()) GTEST_SKIP() << "no oneDNN backend";
  auto backend = make_backend("onednn");
  backend->describe_model(ModelTraits{true});
  auto pick = backend->channel_pick();
  ASSERT_TRUE(pick);
  std::mt19937 rng(5);
  for (int64_t channels : {32, 48, 58, 116, 20}) {
    const Tensor x = conv_output(*backend, 2, channels, 5, 7, rng);
    ASSERT_TRUE(blocked(x)) << x.native->layout();
    std::vector<std::vector<int64_t>> cases = shuffle_halves(channels);
    std::vector<int64_t> reversed(static_cast<size_t>(channels)), repeated{0, 0, channels - 1, 3, 3, 3};
    for (int64_t c = 0; c < channels; ++c) reversed[c] = channels - 1 - c;
    cases.push_back(reversed);
    cases.push_back(repeated);
    for (const std::vector<int64_t>& sources : cases) {
      Tensor y;
      ASSERT_TRUE(pick->run(x, sources, y));
      EXPECT_TRUE(blocked(y)) << y.native->layout();
      expect_values(y, picked(x, sources), std::to_string(channels) + " channels, " + std::to_string(sources.size()) +
                                               " picked");
    }
  }
  Tensor plain = Tensor::zeros_f32({1, 4, 2, 2}), y;
  EXPECT_FALSE(pick->run(plain, {0, 1}, y)) << "a plain tensor is not the backend's to pick from";
}

TEST(ChannelGather, ConcatsOfBlocksCutMidwayEqualThePlainConcat) {
  if (!has_onednn()) GTEST_SKIP() << "no oneDNN backend";
  auto backend = make_backend("onednn");
  backend->describe_model(ModelTraits{true});
  auto concat = backend->concat();
  ASSERT_TRUE(concat);
  std::mt19937 rng(9);
  for (const std::vector<int64_t>& parts : std::vector<std::vector<int64_t>>{{24, 24}, {58, 58}, {20, 36, 17}}) {
    std::vector<Tensor> inputs;
    for (int64_t c : parts) inputs.push_back(conv_output(*backend, 2, c, 4, 6, rng));
    std::vector<const Tensor*> src;
    int64_t total = 0;
    for (const Tensor& t : inputs) src.push_back(&t), total += t.shape[1];
    Tensor y;
    ASSERT_TRUE(concat->run(src, 1, {2, total, 4, 6}, y));
    ASSERT_TRUE(y.native);
    EXPECT_TRUE(blocked(y)) << y.native->layout();
    std::vector<float> want;
    for (int64_t n = 0; n < 2; ++n)
      for (const Tensor& t : inputs) {
        const int64_t size = t.shape[1] * 4 * 6;
        want.insert(want.end(), t.f() + n * size, t.f() + (n + 1) * size);
      }
    expect_values(y, want, std::to_string(parts.size()) + " inputs");
  }
}

}  // namespace
}  // namespace edgequant::engine
