// The entropy coder: fast rANS against its division/linear-search reference, frequency
// quantisation, container round trips on awkward streams, and corrupted or malicious input
// (checksums re-sealed so the parser and decoder themselves are exercised) never crashing.
#include <gtest/gtest.h>

#include <zlib.h>

#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "coding/symbol_stream.h"
#include "coding/frequency_table.h"
#include "coding/rans.h"
#include "common/error.h"
#include "entropy/entropy.h"

using namespace edgequant;
using namespace edgequant::coding;

namespace {

std::vector<int32_t> laplacian_symbols(int64_t n, double scale, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::exponential_distribution<double> magnitude(1.0 / scale);
  std::vector<int32_t> symbols(static_cast<size_t>(n));
  for (auto& s : symbols) s = static_cast<int32_t>(std::lround((rng() & 1 ? 1 : -1) * magnitude(rng)));
  return symbols;
}

std::vector<uint32_t> random_indices(const std::vector<uint32_t>& freqs, int scale_bits, int64_t n, uint64_t seed) {
  // Drawn from the table's own distribution (realistic streams) when the table is small enough
  // to expand, uniformly over the entries otherwise.
  std::mt19937_64 rng(seed);
  std::vector<uint32_t> indices(static_cast<size_t>(n));
  if (scale_bits > 20) {
    for (auto& index : indices) index = static_cast<uint32_t>(rng() % freqs.size());
    return indices;
  }
  std::vector<uint32_t> slot_to_index;
  for (uint32_t i = 0; i < freqs.size(); ++i) slot_to_index.insert(slot_to_index.end(), freqs[i], i);
  for (auto& index : indices) index = slot_to_index[rng() & ((uint64_t{1} << scale_bits) - 1)];
  return indices;
}

std::vector<uint8_t> encode(const std::vector<int32_t>& symbols) {
  return encode_symbols(symbols.data(), static_cast<int64_t>(symbols.size()));
}

void expect_round_trip(const std::vector<int32_t>& symbols) {
  const std::vector<uint8_t> coded = encode(symbols);
  const std::vector<int32_t> decoded = decode_symbols(coded.data(), coded.size());
  ASSERT_EQ(decoded.size(), symbols.size());
  for (size_t i = 0; i < symbols.size(); ++i) ASSERT_EQ(decoded[i], symbols[i]) << "index " << i;
}

// Recomputes both checksums after a deliberate edit, so only the structure is wrong.
void reseal(std::vector<uint8_t>& coded) {
  const uint32_t payload = static_cast<uint32_t>(crc32_z(0, coded.data() + kHeaderBytes, coded.size() - kHeaderBytes));
  std::memcpy(coded.data() + kPayloadChecksumOffset, &payload, 4);
  const uint32_t header = static_cast<uint32_t>(crc32_z(0, coded.data(), kHeaderChecksumOffset));
  std::memcpy(coded.data() + kHeaderChecksumOffset, &header, 4);
}

// Decoding must either throw CorruptData or give back exactly the original.
void expect_rejected_or_exact(const std::vector<uint8_t>& coded, const std::vector<int32_t>& original) {
  try {
    const std::vector<int32_t> decoded = decode_symbols(coded.data(), coded.size());
    EXPECT_EQ(decoded, original);
  } catch (const CorruptData&) {
  }
}

}  // namespace

TEST(Rans, FastEncoderMatchesReferenceByteForByte) {
  for (int scale_bits : {12, 16, 22}) {
    std::vector<uint64_t> counts = {1, 1, 2, 1000, 50000, 7, 3, 1, 123456, 1};
    const std::vector<uint32_t> freqs = quantise_frequencies(counts, scale_bits);
    for (int64_t n : {0, 1, 3, 4, 5, 100003}) {
      const std::vector<uint32_t> indices = random_indices(freqs, scale_bits, n, 7 + n);
      std::vector<uint8_t> fast(rans_max_bytes(n)), reference(rans_max_bytes(n));
      const auto symbols = make_encode_symbols(freqs, scale_bits);
      uint8_t* fast_begin = rans_encode(indices.data(), n, symbols.data(), scale_bits, fast.data() + fast.size());
      uint8_t* ref_begin = rans_encode_reference(indices.data(), n, freqs, scale_bits, reference.data() + reference.size());
      ASSERT_EQ(fast.data() + fast.size() - fast_begin, reference.data() + reference.size() - ref_begin);
      ASSERT_TRUE(std::equal(fast_begin, fast.data() + fast.size(), ref_begin)) << "scale " << scale_bits << " n " << n;
    }
  }
}

TEST(Rans, FastDecoderMatchesReferenceWithLookupAndBinarySearch) {
  // 12 and 20 bits use the slot lookup table, 24 and 30 the binary search.
  for (int scale_bits : {12, 20, 24, 30}) {
    std::vector<uint64_t> counts(300);
    for (size_t i = 0; i < counts.size(); ++i) counts[i] = 1 + (i * i * 7919) % 10007;
    const std::vector<uint32_t> freqs = quantise_frequencies(counts, scale_bits);
    const int64_t n = 50001;
    const std::vector<uint32_t> indices = random_indices(freqs, scale_bits, n, 3);
    std::vector<uint8_t> buffer(rans_max_bytes(n));
    const auto symbols = make_encode_symbols(freqs, scale_bits);
    uint8_t* begin = rans_encode(indices.data(), n, symbols.data(), scale_bits, buffer.data() + buffer.size());
    const size_t size = static_cast<size_t>(buffer.data() + buffer.size() - begin);
    std::vector<uint32_t> fast(n), reference(n);
    RansDecoder(freqs, scale_bits).decode(begin, size, n, fast.data());
    rans_decode_reference(begin, size, n, freqs, scale_bits, reference.data());
    EXPECT_EQ(fast, indices) << "scale " << scale_bits;
    EXPECT_EQ(reference, indices) << "scale " << scale_bits;
  }
}

TEST(Rans, SingleEntryTableCodesToStatesOnly) {
  const std::vector<uint32_t> freqs = {uint32_t{1} << 12};
  const std::vector<uint32_t> indices(100000, 0);
  std::vector<uint8_t> buffer(rans_max_bytes(100000));
  const auto symbols = make_encode_symbols(freqs, 12);
  uint8_t* begin = rans_encode(indices.data(), 100000, symbols.data(), 12, buffer.data() + buffer.size());
  EXPECT_EQ(static_cast<size_t>(buffer.data() + buffer.size() - begin), kRansHeadBytes);
}

TEST(FrequencyTable, QuantisedFrequenciesSumToTotalAndStayPositive) {
  std::mt19937_64 rng(1);
  for (int trial = 0; trial < 50; ++trial) {
    const int scale_bits = 12 + trial % 8;
    std::vector<uint64_t> counts(1 + rng() % 3000);
    for (auto& c : counts) c = 1 + (rng() % 4 == 0 ? rng() % 1000000 : rng() % 3);
    const std::vector<uint32_t> freqs = quantise_frequencies(counts, scale_bits);
    ASSERT_EQ(std::accumulate(freqs.begin(), freqs.end(), uint64_t{0}), uint64_t{1} << scale_bits);
    for (uint32_t f : freqs) ASSERT_GE(f, 1u);
  }
}

TEST(FrequencyTable, WrittenTableReadsBack) {
  const std::vector<int32_t> symbols = laplacian_symbols(100000, 20.0, 5);
  const FrequencyTable table = build_frequency_table(entropy::count_symbols(symbols.data(), 100000));
  std::vector<uint8_t> bytes;
  ByteWriter out(bytes);
  write_frequency_table(table, out);
  ByteReader in(bytes.data(), bytes.size(), "table");
  const FrequencyTable read = read_frequency_table(in, table.has_escape);
  EXPECT_EQ(in.remaining(), 0u);
  EXPECT_EQ(read.symbols, table.symbols);
  EXPECT_EQ(read.freqs, table.freqs);
  EXPECT_EQ(read.scale_bits, table.scale_bits);
  EXPECT_EQ(read.escape_base, table.escape_base);
  EXPECT_EQ(read.raw_bits, table.raw_bits);
}

TEST(Container, RoundTripsAwkwardStreams) {
  constexpr int32_t lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max();
  expect_round_trip({});
  expect_round_trip({0});
  expect_round_trip({lo});
  expect_round_trip({lo, hi, 0, -1, 1, hi, lo});
  expect_round_trip(std::vector<int32_t>(300000, -5));
  std::vector<int32_t> distinct(200000);
  std::iota(distinct.begin(), distinct.end(), -100000);
  std::shuffle(distinct.begin(), distinct.end(), std::mt19937(2));
  expect_round_trip(distinct);
  std::mt19937_64 rng(3);
  std::vector<int32_t> wide(100000);
  for (auto& s : wide) s = static_cast<int32_t>(rng());
  expect_round_trip(wide);
  std::vector<int32_t> mixed = laplacian_symbols(300000, 3.0, 4);  // frequent symbols and extreme outliers
  for (size_t i = 0; i < mixed.size(); i += 997) mixed[i] = i % 2 ? hi - static_cast<int32_t>(i) : lo + static_cast<int32_t>(i);
  expect_round_trip(mixed);
  std::vector<int32_t> pairs;  // every value twice: a large table with a hashed lookup
  for (int i = 0; i < 50000; ++i) pairs.insert(pairs.end(), 2, i * 40009 - 1000000000);
  expect_round_trip(pairs);
}

TEST(Container, CodedSizeIsCloseToEntropy) {
  const int64_t n = 1 << 20;
  const std::vector<int32_t> symbols = laplacian_symbols(n, 10.0, 6);
  const double ideal_bits = entropy::entropy_bits(symbols.data(), n) * static_cast<double>(n);
  const std::vector<uint8_t> coded = encode(symbols);
  const StreamInfo info = StreamReader(coded.data(), coded.size()).info();
  const double coded_bits = 8.0 * static_cast<double>(coded.size() - info.header_bytes - info.table_bytes - info.directory_bytes);
  EXPECT_LT(coded_bits, 1.01 * ideal_bits);
  EXPECT_GT(coded_bits, ideal_bits * 0.999);
}

TEST(Container, RejectsTruncationAtEveryLength) {
  const std::vector<int32_t> symbols = laplacian_symbols(2000, 5.0, 8);
  const std::vector<uint8_t> coded = encode(symbols);
  for (size_t length = 0; length < coded.size(); ++length) {
    EXPECT_THROW(decode_symbols(coded.data(), length), CorruptData) << "length " << length;
  }
}

TEST(Container, RejectsEveryByteFlip) {
  const std::vector<int32_t> symbols = laplacian_symbols(3000, 5.0, 9);
  const std::vector<uint8_t> coded = encode(symbols);
  for (size_t i = 0; i < coded.size(); ++i) {
    std::vector<uint8_t> corrupted = coded;
    corrupted[i] ^= 0x5a;
    EXPECT_THROW(decode_symbols(corrupted.data(), corrupted.size()), CorruptData) << "byte " << i;
  }
}

TEST(Container, RejectsFutureVersionAndBadMagic) {
  std::vector<uint8_t> coded = encode({1, 2, 3});
  std::vector<uint8_t> future = coded;
  future[4] = kFormatVersion + 1;
  reseal(future);
  try {
    decode_symbols(future.data(), future.size());
    FAIL() << "future version accepted";
  } catch (const CorruptData& e) {
    EXPECT_NE(std::string(e.what()).find("version"), std::string::npos) << e.what();
  }
  coded[0] = 'X';
  EXPECT_THROW(decode_symbols(coded.data(), coded.size()), CorruptData);
}

// Malicious input: every byte of the payload and header edited with valid checksums, many
// values each. Run under ASan/UBSan this shows the parser and decoder never read out of bounds.
TEST(Container, SurvivesResealedCorruption) {
  for (const std::vector<int32_t>& symbols :
       {laplacian_symbols(1500, 4.0, 10), std::vector<int32_t>{5, -7, 5, 5, std::numeric_limits<int32_t>::min(), 9, 5}}) {
    const std::vector<uint8_t> coded = encode(symbols);
    for (size_t i = 0; i < coded.size(); ++i) {
      if (i >= kPayloadChecksumOffset && i < kHeaderBytes) continue;  // the checksums themselves
      for (uint8_t value : {0x00, 0x01, 0x7f, 0x80, 0xff}) {
        std::vector<uint8_t> corrupted = coded;
        if (corrupted[i] == value) continue;
        corrupted[i] = value;
        reseal(corrupted);
        expect_rejected_or_exact(corrupted, symbols);
      }
    }
  }
}
