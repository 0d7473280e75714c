// Fast symbol counting (dense per-thread tables / parallel sort) against a std::map reference.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "entropy/entropy.h"
#include "entropy/histogram.h"

using namespace edgequant::entropy;

namespace {
void expect_same_counts(const std::vector<int32_t>& symbols) {
  SymbolCounts fast = count_symbols(symbols.data(), static_cast<int64_t>(symbols.size()));
  SymbolCounts reference = count_symbols_reference(symbols.data(), static_cast<int64_t>(symbols.size()));
  ASSERT_EQ(fast.symbols, reference.symbols);
  ASSERT_EQ(fast.counts, reference.counts);
  ASSERT_EQ(fast.total, reference.total);
}
}  // namespace

TEST(Histogram, DenseSparseAndExtremeAlphabetsMatchReference) {
  std::mt19937 rng(3);
  std::vector<int32_t> dense(500001), sparse(200001), extremes;
  std::uniform_int_distribution<int32_t> small(-300, 300), any(std::numeric_limits<int32_t>::min(),
                                                               std::numeric_limits<int32_t>::max());
  for (auto& s : dense) s = small(rng);
  for (auto& s : sparse) s = any(rng);
  extremes = {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(), 0, 0, -1};
  expect_same_counts(dense);
  expect_same_counts(sparse);
  expect_same_counts(extremes);
  expect_same_counts({42});
}

TEST(Histogram, EmptyStreamHasNoSymbolsAndZeroEntropy) {
  SymbolCounts counts = count_symbols(nullptr, 0);
  EXPECT_TRUE(counts.symbols.empty());
  EXPECT_EQ(entropy_bits(counts), 0.0);
}

TEST(Entropy, EquiprobableAlphabetHasLog2LBits) {
  for (int levels : {1, 2, 5, 256, 70000}) {
    std::vector<int32_t> symbols;
    for (int repeat = 0; repeat < 3; ++repeat)
      for (int s = 0; s < levels; ++s) symbols.push_back(s * 7 - 11);
    EXPECT_NEAR(entropy_bits(symbols.data(), static_cast<int64_t>(symbols.size())), std::log2(levels), 1e-12);
  }
}

TEST(Entropy, FloatPatternsCountSignedZerosApart) {
  std::vector<float> values = {0.0f, -0.0f, 1.0f, 1.0f};
  EXPECT_NEAR(float_pattern_entropy_bits(values.data(), 4), 1.5, 1e-12);
}
