// Dead-zone beyond the registry-wide tests (test_registry.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "quant/deadzone.h"

using namespace edgequant::quant;

TEST(Deadzone, InvalidParametersThrow) {
  EXPECT_THROW(Deadzone(16, 1.0, 1.0), edgequant::InvalidArgument);
  EXPECT_THROW(Deadzone(16, -0.1, 1.0), edgequant::InvalidArgument);
}

TEST(Deadzone, DeadZoneAndOuterLevels) {
  Deadzone op(4, 0.4, 1.0);  // step 0.5: |x| < 0.2 -> 0; x_hat = 0.5 (|q| + 0.4 - 0.5)
  EXPECT_EQ(op.encode(0.19f), 0);
  EXPECT_EQ(op.encode(0.26f), 1);
  EXPECT_EQ(op.encode(-0.26f), -1);
  EXPECT_EQ(op.encode(5.0f), 2);
  EXPECT_FLOAT_EQ(op.decode(1), 0.45f);
  EXPECT_EQ(op.decode(0), 0.0f);
}
