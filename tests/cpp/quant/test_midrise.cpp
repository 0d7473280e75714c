// Midrise beyond the registry-wide tests (test_registry.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "quant/midrise.h"

using namespace edgequant::quant;

TEST(Midrise, DecodeCountsSymbolsOutsideTheAlphabet) {
  Midrise op(8, 1.0);
  std::vector<int32_t> symbols = {1, -4, 0, 5, 4};
  std::vector<float> out(symbols.size());
  EXPECT_EQ(decode(op, symbols.data(), 5, out.data()), 2);  // 0 (no zero level) and 5 (> L/2)
}

TEST(Midrise, InvalidParametersThrow) { EXPECT_THROW(Midrise(16, 0.0), edgequant::InvalidArgument); }
