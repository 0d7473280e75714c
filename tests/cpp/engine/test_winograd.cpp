// The oneDNN backend's Winograd F(4x4, 3x3) convs (backend/onednn/winograd_conv.cpp) through the
// Backend interface, against the reference backend's direct loops: partial edge tiles, channel
// counts off the 16-lane step, batches, the fused residual sum with activations on both sides (swish,
// hardswish, hardsigmoid before it), and
// several threads; and inputs whose range makes Winograd inexact (an outlier, values near FLT_MAX,
// subnormals), which run oneDNN's direct conv instead. Also part of the sanitizer build
// (edgequant_engine_fuzz), where the transforms' pointer arithmetic at the image edges is checked.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>

#include "backend/registry.h"
#include "backend/winograd_f43.h"

namespace edgequant::engine {
namespace {

struct Case {
  int64_t n, ic, oc, h, w, pad;
  bool sum;
  int threads;
  Activation::Kind activation = Activation::Kind::swish;
};

ConvGeometry geometry(const Case& c) {
  ConvGeometry g{};
  g.n = c.n, g.ic = c.ic, g.ih = c.h, g.iw = c.w, g.oc = c.oc, g.kh = g.kw = 3;
  g.oh = c.h + 2 * c.pad - 2, g.ow = c.w + 2 * c.pad - 2;
  g.pad_top = g.pad_left = g.pad_bottom = g.pad_right = c.pad;
  g.stride_h = g.stride_w = g.dilation_h = g.dilation_w = g.groups = 1;
  return g;
}

class WinogradConv : public ::testing::TestWithParam<Case> {};

TEST_P(WinogradConv, MatchesTheDirectReference) {
  const std::vector<std::string> names = backend_names();
  if (std::find(names.begin(), names.end(), "onednn") == names.end()) GTEST_SKIP() << "no oneDNN backend";
  const Case c = GetParam();
  const ConvGeometry g = geometry(c);
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> w(static_cast<size_t>(g.oc * g.ic * 9)), b(static_cast<size_t>(g.oc));
  std::vector<float> x(static_cast<size_t>(g.n * g.ic * g.ih * g.iw));
  std::vector<float> residual(static_cast<size_t>(g.n * g.oc * g.oh * g.ow));
  for (float& v : w) v = normal(rng) / std::sqrt(9.f * static_cast<float>(g.ic));
  for (auto* values : {&b, &x, &residual})
    for (float& v : *values) v = normal(rng);
  ConvPostOps post;
  post.activation.kind = c.activation;
  post.activation.alpha = 1.f / 6, post.activation.beta = 0.5f;  // HardSwish's; hardsigmoid's bends at ±3
  if (c.activation == Activation::Kind::hardswish) post.activation.scale = 0.5f, post.activation.shift = -0.25f;
  post.sum = c.sum;
  if (c.sum) post.after_sum.kind = Activation::Kind::relu;

  auto fast = make_backend("onednn");
  fast->set_threads(c.threads);
  auto reference = make_backend("reference");
  std::vector<float> got = residual, want = residual;  // a sum kernel reads the residual from dst
  setenv("EDGEQUANT_WINOGRAD", "1", 1);  // past the size thresholds (stricter on CPUs with AMX)
  fast->conv(g, w.data(), b.data(), post, {})->run(x.data(), got.data());
  unsetenv("EDGEQUANT_WINOGRAD");
  reference->conv(g, w.data(), b.data(), post, {})->run(x.data(), want.data());
  setenv("EDGEQUANT_WINOGRAD", "0", 1);  // oneDNN's direct conv, for the proof that Winograd ran
  std::vector<float> direct = residual;
  fast->conv(g, w.data(), b.data(), post, {})->run(x.data(), direct.data());
  unsetenv("EDGEQUANT_WINOGRAD");
  fast->set_threads(0);
  float scale = 0;
  for (float v : want) scale = std::max(scale, std::fabs(v));
  for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], 3e-5f * scale) << "element " << i;
  EXPECT_NE(got, direct) << "the Winograd kernel did not run (its rounding differs from the direct sum)";
}

INSTANTIATE_TEST_SUITE_P(Geometries, WinogradConv,
                         ::testing::Values(Case{1, 32, 32, 20, 20, 1, false, 1}, Case{1, 40, 33, 23, 21, 1, true, 1},
                                           Case{2, 64, 48, 22, 25, 0, false, 2}, Case{1, 128, 80, 9, 11, 2, true, 2},
                                           Case{1, 48, 64, 45, 30, 1, true, 3},
                                           Case{1, 32, 32, 20, 20, 1, false, 1, Activation::Kind::hardswish},
                                           Case{1, 40, 33, 23, 21, 1, true, 2, Activation::Kind::hardsigmoid},
                                           Case{1, 48, 40, 21, 22, 1, false, 1, Activation::Kind::gelu}));

// The direct conv a Winograd kernel falls back to is built from its transformed weights U: they
// restore the filters within an ulp of each filter's largest weight.
TEST(WinogradWeights, RestoredFromTheirTransform) {
  const int64_t oc = 24, ic = 40;
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> w(static_cast<size_t>(oc * ic * 9)), u(static_cast<size_t>(36 * oc * ic)), back(w.size());
  for (float& v : w) v = normal(rng) * (normal(rng) > 1.5f ? 1e4f : 0.1f);  // some filters with outlier weights
  winograd::transform_weights(w.data(), oc, ic, u.data());
  winograd::restore_weights(u.data(), oc, ic, back.data());
  size_t exact = 0;
  for (size_t f = 0; f < w.size() / 9; ++f) {
    float top = 0;
    for (int k = 0; k < 9; ++k) top = std::max(top, std::fabs(w[f * 9 + k]));
    for (int k = 0; k < 9; ++k) {
      ASSERT_NEAR(back[f * 9 + k], w[f * 9 + k], 1.2e-7f * top) << "filter " << f << ", weight " << k;
      exact += back[f * 9 + k] == w[f * 9 + k];
    }
  }
  EXPECT_GT(exact, w.size() / 4);  // many come back bit-exact (47 % here, 78 % without outlier weights)
}

// Each case: what the input holds, and whether Winograd must hand it to the direct conv.
enum class Extreme { outlier, huge, subnormal, moderate_outlier };

std::string extreme_name(const ::testing::TestParamInfo<Extreme>& info) {
  static const char* const names[] = {"outlier", "huge", "subnormal", "moderate_outlier"};
  return names[static_cast<int>(info.param)];
}

class WinogradExtremeInput : public ::testing::TestWithParam<Extreme> {};

TEST_P(WinogradExtremeInput, RunsDirectWhereWinogradIsInexact) {
  const std::vector<std::string> names = backend_names();
  if (std::find(names.begin(), names.end(), "onednn") == names.end()) GTEST_SKIP() << "no oneDNN backend";
  const Extreme extreme = GetParam();
  const ConvGeometry g = geometry(Case{1, 64, 48, 24, 24, 1, false, 1});
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> w(static_cast<size_t>(g.oc * g.ic * 9)), x(static_cast<size_t>(g.ic * g.ih * g.iw));
  for (float& v : w) v = normal(rng) / std::sqrt(9.f * static_cast<float>(g.ic));
  for (float& v : x) v = normal(rng);
  const int64_t row = 10, col = 13, channel = 7;  // the outlier: an interior pixel of a tile
  float* outlier = &x[static_cast<size_t>((channel * g.ih + row) * g.iw + col)];
  if (extreme == Extreme::outlier) *outlier = 1e6f;
  if (extreme == Extreme::moderate_outlier) *outlier = 40.f;  // within 2^10 of typical: Winograd stays
  if (extreme == Extreme::huge)
    for (float& v : x) v *= 1e37f;
  if (extreme == Extreme::subnormal)
    for (float& v : x) v *= 1e-39f;
  ConvPostOps post;  // no bias either: subnormal outputs
  auto fast = make_backend("onednn");
  auto reference = make_backend("reference");
  std::vector<float> got(static_cast<size_t>(g.oc * g.oh * g.ow)), want = got, direct = got;
  setenv("EDGEQUANT_WINOGRAD", "1", 1);  // past the size thresholds (stricter on CPUs with AMX)
  fast->conv(g, w.data(), nullptr, post, {})->run(x.data(), got.data());
  unsetenv("EDGEQUANT_WINOGRAD");
  reference->conv(g, w.data(), nullptr, post, {})->run(x.data(), want.data());
  setenv("EDGEQUANT_WINOGRAD", "0", 1);
  fast->conv(g, w.data(), nullptr, post, {})->run(x.data(), direct.data());
  unsetenv("EDGEQUANT_WINOGRAD");
  // Each output against the range of the outputs that do not read the outlier (all where none).
  float scale = 0;
  auto reads_outlier = [&](size_t i) {
    const int64_t y = static_cast<int64_t>(i) / g.ow % g.oh, x_ = static_cast<int64_t>(i) % g.ow;
    return (extreme == Extreme::outlier || extreme == Extreme::moderate_outlier) && std::abs(y - row) <= 1 &&
           std::abs(x_ - col) <= 1;
  };
  for (size_t i = 0; i < want.size(); ++i)
    if (!reads_outlier(i)) scale = std::max(scale, std::fabs(want[i]));
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_TRUE(std::isfinite(got[i])) << "element " << i;
    if (!reads_outlier(i)) ASSERT_NEAR(got[i], want[i], 3e-5f * scale) << "element " << i;
  }
  if (extreme == Extreme::moderate_outlier) {
    EXPECT_NE(got, direct) << "Winograd should have run";
  } else {  // the direct conv ran, with the weights restored from Winograd's (within an ulp)
    float range = 0;
    for (float v : direct) range = std::max(range, std::fabs(v));
    for (size_t i = 0; i < direct.size(); ++i)
      ASSERT_NEAR(got[i], direct[i], 1e-5f * std::fabs(direct[i]) + 1e-6f * range + 8 * 1.4e-45f) << "element " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Inputs, WinogradExtremeInput,
                         ::testing::Values(Extreme::outlier, Extreme::huge, Extreme::subnormal,
                                           Extreme::moderate_outlier),
                         extreme_name);

}  // namespace
}  // namespace edgequant::engine
