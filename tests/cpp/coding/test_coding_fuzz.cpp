// A bounded mutation fuzzer for the coded-symbol format: mutants of several seed streams
// (overwritten bytes, flipped bits, truncations with garbage, deleted and duplicated runs, header
// fields set to extreme integers), half of them with their checksums re-sealed so the parser and
// the rANS decoder themselves are exercised. Every mutant must decode exactly to the original or
// throw CorruptData; run under ASan/UBSan (build/sanitize, see the Makefile's fuzz target) this
// shows no read or write leaves its buffer. EDGEQUANT_FUZZ_MUTANTS=N runs N mutants per seed.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "coding/symbol_stream.h"
#include "common/error.h"

using namespace edgequant;
using namespace edgequant::coding;

namespace {

// Seeds covering every decoder path: lookup table, escapes, binary search over a large table,
// one symbol (no rANS words at all), several blocks.
std::vector<std::vector<int32_t>> seeds() {
  std::mt19937_64 rng(42);
  std::vector<int32_t> laplacian(3000), escapes(2000), large_table(40000), one_symbol(5000, -3), blocks(70000);
  std::exponential_distribution<double> magnitude(0.3);
  for (auto& s : laplacian) s = static_cast<int32_t>(std::lround((rng() & 1 ? 1 : -1) * magnitude(rng)));
  for (size_t i = 0; i < escapes.size(); ++i) escapes[i] = i % 13 == 0 ? static_cast<int32_t>(rng()) : static_cast<int32_t>(i % 5);
  for (size_t i = 0; i < large_table.size(); ++i) large_table[i] = static_cast<int32_t>((i / 2) * 7919);
  for (auto& s : blocks) s = static_cast<int32_t>(rng() % 40);
  return {laplacian, escapes, large_table, one_symbol, blocks};
}

void reseal(std::vector<uint8_t>& coded) {
  if (coded.size() < kHeaderBytes) return;
  const uint32_t payload = static_cast<uint32_t>(crc32_z(0, coded.data() + kHeaderBytes, coded.size() - kHeaderBytes));
  std::memcpy(coded.data() + kPayloadChecksumOffset, &payload, 4);
  const uint32_t header = static_cast<uint32_t>(crc32_z(0, coded.data(), kHeaderChecksumOffset));
  std::memcpy(coded.data() + kHeaderChecksumOffset, &header, 4);
}

std::vector<uint8_t> mutate(const std::vector<uint8_t>& seed, std::mt19937_64& rng) {
  std::vector<uint8_t> m = seed;
  switch (rng() % 5) {
    case 0:
      for (int n = 1 + rng() % 4; n > 0; --n) m[rng() % m.size()] = static_cast<uint8_t>(rng());
      break;
    case 1:
      for (int n = 1 + rng() % 3; n > 0; --n) m[rng() % m.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
      break;
    case 2:
      m.resize(rng() % m.size());
      for (int n = rng() % 8; n > 0; --n) m.push_back(static_cast<uint8_t>(rng()));
      break;
    case 3: {
      const size_t at = rng() % m.size(), length = std::min<size_t>(1 + rng() % 16, m.size() - at);
      if (rng() % 2) m.erase(m.begin() + at, m.begin() + at + length);
      else m.insert(m.begin() + at, seed.begin() + at, seed.begin() + at + length);
      break;
    }
    default: {  // an extreme value in a header field or the first bytes of the payload
      static const uint64_t kExtremes[] = {0, 1, 3, 4, uint64_t{1} << 22, (uint64_t{1} << 22) + 1, uint64_t{1} << 31,
                                           0xffffffffu, uint64_t{1} << 62, (uint64_t{1} << 62) + 1, ~uint64_t{0}};
      static const size_t kFields[] = {8, 16, 24, 40, 41, 42, 44};
      const size_t at = kFields[rng() % (sizeof kFields / sizeof *kFields)];
      const uint64_t value = kExtremes[rng() % (sizeof kExtremes / sizeof *kExtremes)];
      const size_t width = at == 16 ? 4 : at >= 40 ? 1 + rng() % 4 : 8;
      if (at + width <= m.size()) std::memcpy(m.data() + at, &value, width);
    }
  }
  if (rng() % 2) reseal(m);
  return m;
}

}  // namespace

TEST(CodingFuzz, MutantsDecodeExactlyOrThrowCorruptData) {
  const char* env = std::getenv("EDGEQUANT_FUZZ_MUTANTS");
  const int mutants = env ? std::max(1, std::atoi(env)) : 600;
  std::mt19937_64 rng(2026);
  int64_t exact = 0, rejected = 0, total = 0;
  for (const std::vector<int32_t>& symbols : seeds()) {
    const std::vector<uint8_t> coded = encode_symbols(symbols.data(), static_cast<int64_t>(symbols.size()));
    // What a caller that knows the tensor shapes allows: a bomb in a mutant is refused, not allocated.
    const int64_t limit = 4 * static_cast<int64_t>(symbols.size());
    for (int k = 0; k < mutants; ++k) {
      const std::vector<uint8_t> m = mutate(coded, rng);
      ++total;
      try {
        StreamReader reader(m.data(), m.size(), limit);
        reader.info();
        std::vector<int32_t> decoded(static_cast<size_t>(reader.symbol_count()));
        reader.decode(decoded.data());
        ASSERT_EQ(decoded, symbols) << "mutant " << k << " decoded to other symbols";
        ++exact;
      } catch (const CorruptData&) {
        ++rejected;
      } catch (const std::exception& e) {
        ADD_FAILURE() << "mutant " << k << ": unexpected exception: " << e.what();
      }
    }
  }
  // Not vacuous: most mutants are rejected, and some (e.g. a re-sealed no-op edit) decode.
  EXPECT_GT(rejected, total / 2);
  RecordProperty("mutants", static_cast<int>(total));
  RecordProperty("rejected", static_cast<int>(rejected));
  RecordProperty("exact", static_cast<int>(exact));
  std::printf("coding fuzz: %lld mutants, %lld rejected, %lld decoded exactly, 0 crashes\n",
              static_cast<long long>(total), static_cast<long long>(rejected), static_cast<long long>(exact));
}

TEST(CodingFuzz, MaxSymbolsRefusesALargerStreamBeforeDecoding) {
  const std::vector<int32_t> zeros(1 << 20, 0);
  const std::vector<uint8_t> coded = encode_symbols(zeros.data(), static_cast<int64_t>(zeros.size()));
  ASSERT_LT(coded.size(), 1000u);  // 4 MiB of symbols in well under a kilobyte
  EXPECT_THROW(StreamReader(coded.data(), coded.size(), (1 << 20) - 1), CorruptData);
  EXPECT_THROW(decode_symbols(coded.data(), coded.size(), 0), CorruptData);
  EXPECT_EQ(decode_symbols(coded.data(), coded.size(), 1 << 20), zeros);
  EXPECT_EQ(decode_symbols(coded.data(), coded.size()), zeros);
}
