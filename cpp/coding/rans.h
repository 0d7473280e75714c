// rANS (Duda's asymmetric numeral systems) over a static frequency table, after Fabian Giesen's
// rans64: a 64-bit state kept in [2^31, 2^63) and renormalised 32 bits at a time, so a symbol
// writes or reads at most one word. Four states are interleaved (symbol i uses state i % 4):
// four independent dependency chains the CPU overlaps. Symbols here are table indices.
//
// A stream is the four final states (8 bytes each, state 0 first) followed by the
// renormalisation words, as the decoder consumes them; it decodes back to every state == 2^31.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace edgequant::coding {

constexpr int kRansStates = 4;
constexpr uint64_t kRansLow = uint64_t{1} << 31;
constexpr size_t kRansHeadBytes = kRansStates * sizeof(uint64_t);

// Encoding one entry without a division (Giesen's reciprocal form of x -> (x/f)·M + x%f + start).
struct RansEncodeSymbol {
  uint64_t x_max;      // renormalise when the state reaches this
  uint64_t rcp_freq;   // fixed-point 1/freq
  uint32_t bias;
  uint32_t cmpl_freq;  // M - freq
  uint32_t rcp_shift;
  uint32_t freq;
};

std::vector<RansEncodeSymbol> make_encode_symbols(const std::vector<uint32_t>& freqs, int scale_bits);

// Most bytes rans_encode writes for n symbols.
inline size_t rans_max_bytes(int64_t n) { return kRansHeadBytes + 4 * static_cast<size_t>(n); }

// Encodes indices[0, n) backwards into the memory ending at `end` (at least rans_max_bytes(n)
// before it); returns where the stream begins.
uint8_t* rans_encode(const uint32_t* indices, int64_t n, const RansEncodeSymbol* symbols, int scale_bits, uint8_t* end);

// The same with plain division: the reference rans_encode must match byte for byte.
uint8_t* rans_encode_reference(const uint32_t* indices, int64_t n, const std::vector<uint32_t>& freqs,
                               int scale_bits, uint8_t* end);

// Decodes with a slot -> entry lookup table when M <= 2^kLookupMaxScaleBits; above, a table
// over 2^kLookupMaxScaleBits buckets of slots narrows a binary search of the cumulative
// frequencies to the few entries a bucket overlaps. Any stream (malicious included) either decodes to
// entries < freqs.size() or throws CorruptData; no read leaves [data, data + size).
class RansDecoder {
 public:
  static constexpr int kLookupMaxScaleBits = 20;

  RansDecoder(const std::vector<uint32_t>& freqs, int scale_bits);
  void decode(const uint8_t* data, size_t size, int64_t n, uint32_t* dst) const;

 private:
  struct Entry {
    uint32_t freq;
    uint32_t start;
  };
  template <bool kLookup>
  void decode_with(const uint8_t* data, size_t size, int64_t n, uint32_t* dst) const;
  uint32_t find(uint32_t slot) const;  // bucketed binary search

  int scale_bits_;
  std::vector<Entry> entries_;
  std::vector<uint32_t> starts_;         // cumulative, for the binary search
  std::vector<uint32_t> slot_to_entry_;  // the lookup table, when used
  std::vector<uint32_t> bucket_entry_;   // otherwise: entry holding each bucket's first slot
  int bucket_shift_ = 0;
};

// One symbol at a time, binary search, plain arithmetic: the reference RansDecoder must match.
void rans_decode_reference(const uint8_t* data, size_t size, int64_t n, const std::vector<uint32_t>& freqs,
                           int scale_bits, uint32_t* dst);

}  // namespace edgequant::coding
