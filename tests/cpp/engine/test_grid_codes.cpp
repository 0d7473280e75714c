// Float values to a grid's u8 codes (ops/grid_codes.h quantize_to_codes: vectorised, with a NEON
// body on aarch64) against QuantizeLinear's formula written out: clamp(nearbyint(x / s) + z, 0, 255),
// ties to even. Lengths around the vector width (the scalar tail), half-step ties, saturation,
// ±Inf, ±0, subnormals, unaligned pointers; a NaN anywhere makes it return false.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "ops/grid_codes.h"

namespace edgequant::engine {
namespace {

uint8_t formula(float x, float s, float z) {
  const double q = std::nearbyint(static_cast<double>(x / s)) + z;
  return static_cast<uint8_t>(std::clamp(q, 0.0, 255.0));
}

std::vector<float> values(size_t n, float s, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> wide(-300.f * s, 300.f * s);
  std::uniform_int_distribution<int> step(-200, 200);
  const float inf = std::numeric_limits<float>::infinity();
  const float special[] = {0.f, -0.f, inf, -inf, 1e-40f, -1e-40f, 3e38f, -3e38f};
  std::vector<float> v(n);
  for (size_t k = 0; k < n; ++k) {
    switch (rng() % 4) {
      case 0: v[k] = wide(rng); break;
      case 1: v[k] = (static_cast<float>(step(rng)) + 0.5f) * s; break;  // a half-step tie (up to x / s's rounding)
      case 2: v[k] = static_cast<float>(step(rng)) * s; break;
      default: v[k] = special[rng() % 8];
    }
  }
  return v;
}

TEST(QuantizeToCodes, MatchesQuantizeLinearsFormula) {
  const float grids[][2] = {{0.5f, 0.f}, {0.5f, 128.f}, {0.0123f, 37.f}, {2.f, 255.f}, {1e-3f, 200.f}};
  for (const auto& grid : grids)
    for (size_t n : {0, 1, 3, 4, 15, 16, 17, 31, 32, 33, 100, 4099})
      for (size_t offset : {0, 1}) {  // unaligned input and output
        std::vector<float> x = values(n + offset, grid[0], static_cast<uint32_t>(n * 7 + offset));
        std::vector<uint8_t> codes(n + offset, 0xAB);
        ASSERT_TRUE(quantize_to_codes(x.data() + offset, codes.data() + offset, static_cast<int64_t>(n), grid[0], grid[1]));
        for (size_t k = 0; k < n; ++k)
          ASSERT_EQ(codes[offset + k], formula(x[offset + k], grid[0], grid[1]))
              << "x " << x[offset + k] << " s " << grid[0] << " z " << grid[1] << " n " << n << " k " << k;
        if (offset) EXPECT_EQ(codes[0], 0xAB);  // nothing written before the output
      }
}

TEST(QuantizeToCodes, SaysWhereAValueIsNaN) {
  for (size_t n : {1, 5, 16, 17, 40})
    for (size_t at = 0; at < n; at += 3) {
      std::vector<float> x(n, 1.f);
      std::vector<uint8_t> codes(n);
      x[at] = std::numeric_limits<float>::quiet_NaN();
      EXPECT_FALSE(quantize_to_codes(x.data(), codes.data(), static_cast<int64_t>(n), 0.1f, 3.f)) << n << " " << at;
      for (size_t k = 0; k < n; ++k)
        if (k != at) EXPECT_EQ(codes[k], formula(1.f, 0.1f, 3.f));
    }
}

}  // namespace
}  // namespace edgequant::engine
