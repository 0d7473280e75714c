// μ-law beyond the registry-wide tests (test_registry.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "quant/mulaw.h"

using namespace edgequant::quant;

TEST(MuLaw, InvalidParametersThrow) { EXPECT_THROW(MuLaw(16, -1.0, 1.0), edgequant::InvalidArgument); }

TEST(MuLaw, TableDecodesLikeTheFormulaAndClampsInvalidSymbols) {
  MuLaw tabulated(512, 255.0, 0.8);
  ASSERT_NE(tabulated.magnitude_table, nullptr);
  for (int32_t q = -256; q <= 256; ++q) {
    double magnitude = 0.8 / 255.0 * std::expm1(tabulated.step * std::abs(q) / 0.8 * std::log1p(255.0));
    EXPECT_EQ(tabulated.decode(q), static_cast<float>(q < 0 ? -magnitude : magnitude)) << q;
  }
  std::vector<int32_t> invalid = {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(), 257};
  std::vector<float> out(invalid.size());
  EXPECT_EQ(decode(tabulated, invalid.data(), 3, out.data()), 3);
  MuLaw formula(1 << 20, 255.0, 0.8);  // too many levels for a table
  EXPECT_EQ(formula.magnitude_table, nullptr);
  EXPECT_EQ(formula.decode(-7), -formula.expand(7));
}
