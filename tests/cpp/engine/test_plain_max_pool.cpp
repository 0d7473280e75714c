// Max pooling of plain NCHW float32 values and u8 codes (backend/plain_max_pool.h), and every
// backend's pool on plain data, against the reference backend's loop: padding on every side,
// ceil_mode's overhang, strides larger than the window, NaN (never wins), ties of ±0 aside.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "backend/plain_max_pool.h"
#include "backend/registry.h"

namespace edgequant::engine {
namespace {

std::vector<PoolGeometry> geometries() {
  std::vector<PoolGeometry> out;
  // kind, include_pad, n, c, ih, iw, oh, ow, kh, kw, sh, sw, pads top, left, bottom, right
  out.push_back({PoolGeometry::Kind::max, false, 1, 3, 9, 11, 4, 5, 3, 3, 2, 2, 0, 0, 0, 0});
  out.push_back({PoolGeometry::Kind::max, false, 2, 2, 8, 8, 4, 4, 3, 3, 2, 2, 1, 1, 1, 1});
  out.push_back({PoolGeometry::Kind::max, false, 1, 4, 7, 7, 4, 4, 3, 3, 2, 2, 0, 0, 2, 2});   // ceil overhang
  out.push_back({PoolGeometry::Kind::max, false, 1, 2, 10, 6, 3, 2, 2, 2, 4, 3, 0, 0, 0, 0});  // stride > window
  out.push_back({PoolGeometry::Kind::max, false, 1, 1, 5, 5, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1});
  out.push_back({PoolGeometry::Kind::max, false, 1, 5, 1, 40, 1, 20, 1, 2, 1, 2, 0, 0, 0, 0});  // 1-D
  out.push_back({PoolGeometry::Kind::max, false, 1, 3, 6, 6, 1, 1, 6, 6, 1, 1, 0, 0, 0, 0});    // global
  return out;
}

std::vector<float> random_values(int64_t n, uint32_t seed, bool with_nan) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) v = normal(rng);
  if (with_nan)
    for (size_t k = 0; k < x.size(); k += 7) x[k] = std::numeric_limits<float>::quiet_NaN();
  return x;
}

TEST(PlainMaxPool, FloatMatchesTheReference) {
  for (bool with_nan : {false, true})
    for (const PoolGeometry& g : geometries()) {
      const std::vector<float> x = random_values(g.n * g.c * g.ih * g.iw, 11, with_nan);
      std::vector<float> ours(static_cast<size_t>(g.n * g.c * g.oh * g.ow)), reference(ours.size());
      max_pool_plain(g, x.data(), ours.data());
      make_backend("reference")->pool(g)->run(x.data(), reference.data());
      for (size_t k = 0; k < ours.size(); ++k) ASSERT_EQ(ours[k], reference[k]) << "at " << k << ", NaN " << with_nan;
    }
}

TEST(PlainMaxPool, WindowsOfNaNAndPaddingGiveMinusInfinity) {
  PoolGeometry g{PoolGeometry::Kind::max, false, 1, 1, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> x = {nan, 1.f, 2.f, nan};
  std::vector<float> y(4);
  max_pool_plain(g, x.data(), y.data());
  EXPECT_EQ(y[0], -std::numeric_limits<float>::infinity());  // the window holds padding and x[0] only
  EXPECT_EQ(y[1], 1.f);
  EXPECT_EQ(y[3], 2.f);
}

TEST(PlainMaxPool, CodesMatchTheReferenceOnTheirValues) {
  for (const PoolGeometry& g : geometries()) {
    std::mt19937 rng(5);
    std::vector<uint8_t> codes(static_cast<size_t>(g.n * g.c * g.ih * g.iw));
    for (uint8_t& q : codes) q = static_cast<uint8_t>(rng() & 255);
    std::vector<float> values(codes.begin(), codes.end());
    std::vector<uint8_t> ours(static_cast<size_t>(g.n * g.c * g.oh * g.ow));
    std::vector<float> reference(ours.size());
    max_pool_plain(g, codes.data(), ours.data());
    make_backend("reference")->pool(g)->run(values.data(), reference.data());
    for (size_t k = 0; k < ours.size(); ++k) ASSERT_EQ(static_cast<float>(ours[k]), reference[k]) << k;
  }
  PoolGeometry padding_only{PoolGeometry::Kind::max, false, 1, 1, 2, 2, 2, 2, 1, 1, 2, 2, 0, 0, 2, 2};
  std::vector<uint8_t> in(4), out(4);
  EXPECT_THROW(max_pool_plain(padding_only, in.data(), out.data()), InvalidArgument);
}

// Every backend's pool kernel on plain float32 (oneDNN's now runs max_pool_plain there).
TEST(PlainMaxPool, EveryBackendOnPlainData) {
  for (const BackendInfo& info : supported_backends())
    for (const PoolGeometry& g : geometries()) {
      const std::vector<float> x = random_values(g.n * g.c * g.ih * g.iw, 3, false);
      std::vector<float> ours(static_cast<size_t>(g.n * g.c * g.oh * g.ow)), reference(ours.size());
      make_backend(info.name)->pool(g)->run(x.data(), ours.data());
      make_backend("reference")->pool(g)->run(x.data(), reference.data());
      for (size_t k = 0; k < ours.size(); ++k) ASSERT_EQ(ours[k], reference[k]) << info.name << " at " << k;
    }
}

}  // namespace
}  // namespace edgequant::engine
