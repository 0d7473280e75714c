// TFLite's integer Add over code arrays (backend/code_add_lanes.h: AVX-512 lanes on x86 CPUs with them)
// against the scalar add_codes on every pair of codes (a, b), for the parameters of scales spread over
// 2^±9 of each other (right shifts), equal scales with the output's step twice theirs (half-step ties,
// rounded away from zero), clamps of a fused Relu, and hand-made multipliers with left shifts; lengths
// around the 16-code step, unaligned pointers.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <random>
#include <vector>

#include "backend/code_add_lanes.h"
#include "common/error.h"

namespace edgequant::engine {
namespace {

void expect_every_pair(const CodeAddition& p, const std::string& what) {
  std::vector<uint8_t> a(65536 + 1), b(65536 + 1), y(65536 + 2, 0xA5);
  for (int k = 0; k < 65536; ++k) a[k + 1] = static_cast<uint8_t>(k >> 8), b[k + 1] = static_cast<uint8_t>(k);
  add_code_arrays(p, a.data() + 1, b.data() + 1, y.data() + 1, 65536);  // unaligned
  ASSERT_EQ(y[0], 0xA5) << what;
  ASSERT_EQ(y[65537], 0xA5) << what;
  for (int k = 0; k < 65536; ++k)
    ASSERT_EQ(y[k + 1], add_codes(p, k >> 8, k & 255)) << what << ": a " << (k >> 8) << ", b " << (k & 255);
}

TEST(CodeAddLanes, EveryPairOfCodesAsTheScalarForm) {
  std::mt19937 rng(17);
  std::uniform_int_distribution<int> zero(0, 255);
  std::uniform_real_distribution<float> log_scale(-9, 1);
  int checked = 0;
  for (int i = 0; i < 60; ++i) {
    const float sa = std::exp2(log_scale(rng)), sb = i % 5 == 0 || i % 6 == 1 ? sa : std::exp2(log_scale(rng)),
                so = i % 6 == 1 ? 2 * sa : std::exp2(log_scale(rng));
    const int32_t zo = zero(rng);
    const int32_t lo = i % 3 == 0 ? zo : 0, hi = i % 4 == 0 ? std::min(255, zo + 40) : 255;
    CodeAddition p;
    try {
      p = prepare_code_addition(sa, zero(rng), sb, zero(rng), so, zo, lo, hi);
    } catch (const InvalidArgument&) {
      continue;  // a multiplier past TFLite's range
    }
    expect_every_pair(p, "case " + std::to_string(i));
    if (HasFailure()) return;
    ++checked;
  }
  EXPECT_GT(checked, 50);
}

TEST(CodeAddLanes, LeftShiftsAndExtremeMultipliers) {
  // the largest and smallest multipliers TFLite makes (2^30 .. 2^31 − 1), right shifts up to 30, and left
  // shifts before the high multiply (a scale ratio above one: values kept small by a left shift of 10, so
  // that no sum leaves int32)
  const int32_t multipliers[] = {1 << 30, 1518500250, 2147483647};
  for (int32_t m : multipliers)
    for (const auto& [left_shift, shift_a, shift_b, shift_out] :
         std::vector<std::array<int32_t, 4>>{{20, -20, -1, -30}, {20, -1, 0, -12}, {20, 0, -3, -1}, {10, 3, 1, 2}}) {
      CodeAddition p;
      p.left_shift = left_shift;
      p.zero_a = 3, p.multiplier_a = m, p.shift_a = shift_a;
      p.zero_b = 250, p.multiplier_b = 1 << 30, p.shift_b = shift_b;
      p.output_zero = 128, p.output_multiplier = m, p.output_shift = shift_out;
      expect_every_pair(p, "multiplier " + std::to_string(m) + ", shifts " + std::to_string(shift_a) + " " +
                               std::to_string(shift_b) + " " + std::to_string(shift_out));
      if (HasFailure()) return;
    }
}

TEST(CodeAddLanes, LengthsAroundTheStep) {
  const CodeAddition p = prepare_code_addition(0.05f, 120, 0.07f, 130, 0.1f, 100, 0, 255);
  std::mt19937 rng(3);
  for (int64_t n : {0, 1, 15, 16, 17, 31, 33, 100}) {
    std::vector<uint8_t> a(n + 1), b(n + 1), y(n + 1, 0xA5);
    for (int64_t k = 0; k < n; ++k) a[k] = static_cast<uint8_t>(rng()), b[k] = static_cast<uint8_t>(rng());
    add_code_arrays(p, a.data(), b.data(), y.data(), n);
    for (int64_t k = 0; k < n; ++k) ASSERT_EQ(y[k], add_codes(p, a[k], b[k])) << n << " " << k;
    EXPECT_EQ(y[n], 0xA5) << "nothing written past n";
  }
}

}  // namespace
}  // namespace edgequant::engine
