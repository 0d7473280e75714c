// u8 codes through a 256-entry table (backend/code_map.h map_codes: AVX-512 VBMI's byte permutes on
// x86 CPUs with them, NEON TBL / TBX on aarch64) against the plain loop out[k] = table[in[k]]: every
// code, random and structured tables (the identity, a reversal, entries that differ only in the
// quarter they come from), lengths around the vector widths (the tails), unaligned pointers, in place.
#include <gtest/gtest.h>

#include <numeric>
#include <random>
#include <vector>

#include "backend/code_map.h"
#if defined(__aarch64__)
#include "backend/arm/nhwc_codes.h"
#endif

namespace edgequant::engine {
namespace {

std::vector<std::vector<uint8_t>> tables() {
  std::vector<std::vector<uint8_t>> all(4, std::vector<uint8_t>(256));
  std::iota(all[0].begin(), all[0].end(), 0);                    // identity
  for (int q = 0; q < 256; ++q) all[1][q] = static_cast<uint8_t>(255 - q);  // reversal
  for (int q = 0; q < 256; ++q) all[2][q] = static_cast<uint8_t>(q / 64 * 85);  // one value per quarter
  std::mt19937 rng(11);
  for (auto& v : all[3]) v = static_cast<uint8_t>(rng());
  return all;
}

TEST(CodeMap, EqualsThePlainLoopForEveryCodeLengthAndOffset) {
  std::mt19937 rng(3);
  std::vector<uint8_t> source(5000 + 3);
  for (size_t k = 0; k < source.size(); ++k) source[k] = static_cast<uint8_t>(k < 256 ? k : rng());
  for (const std::vector<uint8_t>& table : tables())
    for (int64_t n : {0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 200, 256, 4097, 5000})
      for (int offset : {0, 1, 3}) {
        SCOPED_TRACE("n " + std::to_string(n) + ", offset " + std::to_string(offset));
        const uint8_t* in = source.data() + offset;
        std::vector<uint8_t> want(static_cast<size_t>(n) + 8, 0xA5), got(static_cast<size_t>(n) + 8, 0xA5);
        map_codes_plain(in, want.data() + offset % 2, n, table.data());
        map_codes(in, got.data() + offset % 2, n, table.data());
        ASSERT_EQ(got, want) << "the bytes past n are left alone too";
        for (int64_t k = 0; k < n; ++k) ASSERT_EQ(want[offset % 2 + k], table[in[k]]);
      }
}

TEST(CodeMap, InPlace) {
  const std::vector<uint8_t> table = tables()[3];
  std::vector<uint8_t> codes(1000);
  std::iota(codes.begin(), codes.end(), 0);  // every code, wrapping
  std::vector<uint8_t> want(codes.size());
  for (size_t k = 0; k < codes.size(); ++k) want[k] = table[codes[k]];
  map_codes(codes.data(), codes.data(), static_cast<int64_t>(codes.size()), table.data());
  EXPECT_EQ(codes, want);
}

#if defined(__aarch64__)
// The ARM backend's NHWC codes (stored as q − 128) mapped in their own layout, by one table or one per
// channel: the codes read back (to_plain_codes, NCHW) are the tables', on the new grid.
TEST(CodeMap, ArmNhwcCodesMappedInTheirLayout) {
  arm::NhwcCodes source(Shape{2, 5, 3, 7}, 0.5f, 3);
  const int64_t n = 2 * 5 * 3 * 7, plane = 3 * 7;
  for (int64_t k = 0; k < n; ++k) source.data()[k] = static_cast<int8_t>(k * 37 % 256 - 128);
  std::mt19937 rng(5);
  for (int64_t channels : {1, 5}) {
    SCOPED_TRACE("tables " + std::to_string(channels));
    std::vector<uint8_t> tables(static_cast<size_t>(256 * channels));
    for (auto& v : tables) v = static_cast<uint8_t>(rng());
    const std::shared_ptr<NativeData> mapped = source.with_codes_mapped(tables.data(), channels, 0.25f, 9);
    ASSERT_TRUE(mapped);
    const auto* codes = dynamic_cast<const arm::NhwcCodes*>(mapped.get());
    ASSERT_NE(codes, nullptr);
    EXPECT_EQ(codes->scale, 0.25f);
    EXPECT_EQ(codes->zero_point, 9);
    std::vector<uint8_t> before(static_cast<size_t>(n)), after(static_cast<size_t>(n));
    ASSERT_TRUE(source.to_plain_codes(before.data()));
    ASSERT_TRUE(mapped->to_plain_codes(after.data()));
    for (int64_t k = 0; k < n; ++k) {
      const int64_t channel = channels == 1 ? 0 : k / plane % 5;
      ASSERT_EQ(after[k], tables[channel * 256 + before[k]]) << "code " << k;
    }
  }
  EXPECT_FALSE(source.with_codes_mapped(std::vector<uint8_t>(256 * 4).data(), 4, 1.f, 0)) << "4 tables, 5 channels";
}
#endif

}  // namespace
}  // namespace edgequant::engine
