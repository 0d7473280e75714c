// The portable Winograd F(6x6, 3x3) (backend/winograd_f63.h) from its formula: its transforms around
// plain products summed over input channels give the direct 3x3 convolution (computed in double) within
// the variant's stated rounding, on tiles across every edge, pads 0-2, channel counts that are not a
// multiple of anything, bias, an activation and a residual; F(6x6, 3x3) is chosen only where it
// multiplies less than F(4x4, 3x3). The ARM backend's NEON transforms equal these bit for bit
// (test_arm_kernels.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "backend/winograd_f63.h"

namespace edgequant::engine {
namespace {

namespace f63 = winograd::f63;

// y = relu(conv(x, w) + b) + residual, NHWC, by the Winograd transforms (products in float, as a
// backend's GEMM) with relu before the sum and none after.
std::vector<float> winograd_conv(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b,
                                 const std::vector<float>& residual, int64_t ic, int64_t oc, const winograd::Tiling& t) {
  std::vector<float> u(static_cast<size_t>(f63::kPositions * ic * oc));
  f63::transform_weights(w.data(), oc, ic, u.data());
  const int64_t tiles = t.tiles(), block = tiles + 1;  // one block, a spare row left alone
  std::vector<float> v(static_cast<size_t>(f63::kPositions * block * ic), 7.f);
  std::vector<float> m(static_cast<size_t>(f63::kPositions * block * oc));
  f63::transform_input(x.data(), ic, t, 0, tiles, block, v.data());
  for (int q = 0; q < f63::kPositions; ++q)
    for (int64_t k = 0; k < tiles; ++k)
      for (int64_t o = 0; o < oc; ++o) {
        float sum = 0;
        for (int64_t i = 0; i < ic; ++i) sum += v[(q * block + k) * ic + i] * u[(q * ic + i) * oc + o];
        m[(q * block + k) * oc + o] = sum;
      }
  ConvPostOps post;
  post.activation.kind = Activation::Kind::relu;
  post.sum = true;
  std::vector<float> y = residual;
  f63::transform_output(m.data(), oc, t, 0, tiles, block, b.data(), post, y.data());
  return y;
}

TEST(WinogradF63, IsTheDirectConvolution) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> uniform(-1.f, 1.f);
  const int64_t shapes[][4] = {{6, 6, 0, 3}, {8, 8, 1, 5}, {13, 11, 1, 16}, {9, 14, 2, 7}, {20, 7, 0, 33}};
  for (const auto& s : shapes) {
    const int64_t ih = s[0], iw = s[1], pad = s[2], ic = s[3], oc = 5;
    const winograd::Tiling t = f63::tiling(ih, iw, ih + 2 * pad - 2, iw + 2 * pad - 2, pad, pad);
    std::vector<float> x(static_cast<size_t>(ih * iw * ic)), w(static_cast<size_t>(oc * ic * 9)), b(oc),
        r(static_cast<size_t>(t.oh * t.ow * oc));
    for (auto* values : {&x, &w, &b, &r})
      for (float& value : *values) value = uniform(rng);
    const auto y = winograd_conv(x, w, b, r, ic, oc, t);
    double worst = 0, top = 0;
    for (int64_t oy = 0; oy < t.oh; ++oy)
      for (int64_t ox = 0; ox < t.ow; ++ox)
        for (int64_t o = 0; o < oc; ++o) {
          double sum = b[o];
          for (int64_t ky = 0; ky < 3; ++ky)
            for (int64_t kx = 0; kx < 3; ++kx) {
              const int64_t iy = oy + ky - pad, ix = ox + kx - pad;
              if (iy < 0 || iy >= ih || ix < 0 || ix >= iw) continue;
              for (int64_t i = 0; i < ic; ++i)
                sum += static_cast<double>(x[(iy * iw + ix) * ic + i]) * w[((o * ic + i) * 3 + ky) * 3 + kx];
            }
          const size_t at = static_cast<size_t>((oy * t.ow + ox) * oc + o);
          const double expected = std::max(sum, 0.0) + r[at];
          worst = std::max(worst, std::fabs(y[at] - expected));
          top = std::max(top, std::fabs(expected));
        }
    EXPECT_LT(worst, 5e-5 * top) << ih << "x" << iw << " pad " << pad << ", " << ic << " channels";
  }
}

TEST(WinogradF63, ChosenWhereItMultipliesLess) {
  EXPECT_TRUE(f63::fewer_products(56, 56));    // 6,400 products a channel pair against 7,056
  EXPECT_TRUE(f63::fewer_products(28, 28));    // 1,600 against 1,764
  EXPECT_TRUE(f63::fewer_products(40, 40));    // 3,136 against 3,600
  EXPECT_FALSE(f63::fewer_products(14, 14));   // 576 each
  EXPECT_FALSE(f63::fewer_products(7, 7));     // 256 against 144
  EXPECT_FALSE(f63::fewer_products(20, 20));   // 1,024 against 900
  EXPECT_FALSE(f63::fewer_products(4, 100));   // one row of tiles: 1,088 against 900
}

}  // namespace
}  // namespace edgequant::engine
