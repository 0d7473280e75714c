// The coder's static model: the symbols it codes directly, their frequencies quantised to a
// power-of-two total M = 2^scale_bits, and an optional escape entry for everything else.
// Symbols that would cost more as a table entry than sent raw (rare values, all-distinct or
// huge alphabets) are escaped: the rANS stream codes the escape entry and the value follows as
// a raw_bits-bit offset from escape_base.
#pragma once
#include <cstdint>
#include <vector>

#include "coding/byte_io.h"
#include "entropy/histogram.h"

namespace edgequant::coding {

constexpr int kMinScaleBits = 12;
constexpr int kMaxScaleBits = 30;                      // rANS64 allows up to 31
constexpr int64_t kMaxTableSymbols = int64_t{1} << 24;  // rarer symbols beyond this are escaped

struct FrequencyTable {
  int scale_bits = 0;
  std::vector<int32_t> symbols;  // coded directly, increasing
  std::vector<uint32_t> freqs;   // one per entry: symbols' then the escape's (if any); sum 2^scale_bits
  bool has_escape = false;
  int32_t escape_base = 0;  // escaped value = escape_base + raw (mod 2^32)
  int raw_bits = 0;         // width of raw, 0..32

  uint32_t escape_index() const { return static_cast<uint32_t>(symbols.size()); }
  size_t entries() const { return freqs.size(); }
};

// Model for a stream with these counts (at least one symbol).
FrequencyTable build_frequency_table(const entropy::SymbolCounts& counts);

// Frequencies >= 1 summing to 2^scale_bits, close to proportional to counts (all > 0,
// counts.size() <= 2^scale_bits): floors, then largest remainders, then trimming where it
// costs least.
std::vector<uint32_t> quantise_frequencies(const std::vector<uint64_t>& counts, int scale_bits);

// The table section of the format (see symbol_stream.h). read_ validates everything it returns.
void write_frequency_table(const FrequencyTable& table, ByteWriter& out);
FrequencyTable read_frequency_table(ByteReader& in, bool has_escape);

}  // namespace edgequant::coding
