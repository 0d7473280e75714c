// Midtread beyond the registry-wide tests (test_registry.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "quant/midtread.h"

using namespace edgequant::quant;

TEST(Midtread, NonFiniteInputsAreCountedAndMapWithoutUndefinedBehaviour) {
  Midtread op(16, 1.0);
  std::vector<float> values = {1.0f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                               -std::numeric_limits<float>::infinity(), 0.25f};
  std::vector<int32_t> symbols(values.size());
  EXPECT_EQ(encode(op, values.data(), 5, symbols.data()), 3);
  EXPECT_EQ(symbols[1], 0);
  EXPECT_EQ(symbols[2], 8);
  EXPECT_EQ(symbols[3], -8);
}

TEST(Midtread, InvalidParametersThrow) {
  EXPECT_THROW(Midtread(1, 1.0), edgequant::InvalidArgument);
  EXPECT_THROW(Midtread((1 << 24) + 1, 1.0), edgequant::InvalidArgument);
}
