#include "coding/rans.h"

#include <algorithm>
#include <cstring>

#include "common/error.h"

namespace edgequant::coding {
namespace {

uint64_t mul_high(uint64_t a, uint64_t b) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(a) * b) >> 64);
}

uint64_t x_max_for(uint32_t freq, int scale_bits) { return ((kRansLow >> scale_bits) << 32) * freq; }

void put_word(uint8_t*& pos, uint32_t word) {
  pos -= 4;
  std::memcpy(pos, &word, 4);
}

uint8_t* flush_states(const uint64_t (&states)[kRansStates], uint8_t* pos) {
  for (int s = kRansStates - 1; s >= 0; --s) {
    pos -= 8;
    std::memcpy(pos, &states[s], 8);
  }
  return pos;
}

[[noreturn]] void corrupt(const char* message) { throw CorruptData(std::string("coded stream: rANS block: ") + message); }

// Reads the initial states; each must lie in the normalisation interval.
const uint8_t* read_states(const uint8_t* data, size_t size, uint64_t (&states)[kRansStates]) {
  if (size < kRansHeadBytes || (size - kRansHeadBytes) % 4 != 0) corrupt("bad length");
  for (auto& state : states) {
    std::memcpy(&state, data, 8);
    data += 8;
    if (state < kRansLow || state >= (kRansLow << 32)) corrupt("state out of range");
  }
  return data;
}

void check_final(const uint64_t (&states)[kRansStates], const uint8_t* pos, const uint8_t* end) {
  if (pos != end) corrupt("words left over");
  for (uint64_t state : states) if (state != kRansLow) corrupt("final state mismatch");
}

std::vector<uint32_t> cumulative_starts(const std::vector<uint32_t>& freqs) {
  std::vector<uint32_t> starts(freqs.size() + 1, 0);
  for (size_t i = 0; i < freqs.size(); ++i) starts[i + 1] = starts[i] + freqs[i];
  return starts;
}

}  // namespace

std::vector<RansEncodeSymbol> make_encode_symbols(const std::vector<uint32_t>& freqs, int scale_bits) {
  const uint64_t total = uint64_t{1} << scale_bits;
  std::vector<RansEncodeSymbol> symbols(freqs.size());
  uint64_t start = 0;
  for (size_t i = 0; i < freqs.size(); ++i) {
    const uint32_t freq = freqs[i];
    RansEncodeSymbol& s = symbols[i];
    s.x_max = x_max_for(freq, scale_bits);
    s.freq = freq;
    s.cmpl_freq = static_cast<uint32_t>(total - freq);
    if (freq < 2) {
      // 1/1 does not fit the fixed point: rcp = 2^64-1, shift 0 gives q = x-1, and the bias
      // absorbs the difference: x + (x-1)(M-1) + start + M-1 = x·M + start.
      s.rcp_freq = ~uint64_t{0};
      s.rcp_shift = 0;
      s.bias = static_cast<uint32_t>(start + total - 1);
    } else {
      // Alverson's reciprocal: shift = ceil(log2 freq), rcp = ceil(2^(shift+63) / freq).
      uint32_t shift = 0;
      while (freq > (uint32_t{1} << shift)) ++shift;
      const unsigned __int128 numerator = (static_cast<unsigned __int128>(1) << (shift + 63)) + freq - 1;
      s.rcp_freq = static_cast<uint64_t>(numerator / freq);
      s.rcp_shift = shift - 1;
      s.bias = static_cast<uint32_t>(start);
    }
    start += freq;
  }
  return symbols;
}

uint8_t* rans_encode(const uint32_t* indices, int64_t n, const RansEncodeSymbol* symbols, int scale_bits,
                     uint8_t* end) {
  uint64_t states[kRansStates];
  for (auto& state : states) state = kRansLow;
  uint8_t* pos = end;
  auto put = [&](uint64_t& x, const RansEncodeSymbol& s) {
    if (x >= s.x_max) {
      put_word(pos, static_cast<uint32_t>(x));
      x >>= 32;
    }
    const uint64_t q = mul_high(x, s.rcp_freq) >> s.rcp_shift;
    x += s.bias + q * s.cmpl_freq;
  };
  // Backwards, so the decoder reads forwards; symbol i always uses state i % 4.
  int64_t i = n - 1;
  for (; i >= 0 && (i + 1) % kRansStates != 0; --i) put(states[i % kRansStates], symbols[indices[i]]);
  for (; i >= 0; i -= kRansStates) {
    put(states[3], symbols[indices[i]]);
    put(states[2], symbols[indices[i - 1]]);
    put(states[1], symbols[indices[i - 2]]);
    put(states[0], symbols[indices[i - 3]]);
  }
  return flush_states(states, pos);
}

uint8_t* rans_encode_reference(const uint32_t* indices, int64_t n, const std::vector<uint32_t>& freqs,
                               int scale_bits, uint8_t* end) {
  const std::vector<uint32_t> starts = cumulative_starts(freqs);
  uint64_t states[kRansStates];
  for (auto& state : states) state = kRansLow;
  uint8_t* pos = end;
  for (int64_t i = n - 1; i >= 0; --i) {
    uint64_t& x = states[i % kRansStates];
    const uint32_t freq = freqs[indices[i]];
    if (x >= x_max_for(freq, scale_bits)) {
      put_word(pos, static_cast<uint32_t>(x));
      x >>= 32;
    }
    x = ((x / freq) << scale_bits) + x % freq + starts[indices[i]];
  }
  return flush_states(states, pos);
}

RansDecoder::RansDecoder(const std::vector<uint32_t>& freqs, int scale_bits)
    : scale_bits_(scale_bits), starts_(cumulative_starts(freqs)) {
  require(!freqs.empty() && starts_.back() == (uint64_t{1} << scale_bits), "RansDecoder: frequencies must sum to 2^scale_bits");
  entries_.resize(freqs.size());
  for (size_t i = 0; i < freqs.size(); ++i) entries_[i] = {freqs[i], starts_[i]};
  if (scale_bits <= kLookupMaxScaleBits) {
    slot_to_entry_.resize(size_t{1} << scale_bits);
    for (size_t i = 0; i < freqs.size(); ++i) {
      std::fill(slot_to_entry_.begin() + starts_[i], slot_to_entry_.begin() + starts_[i + 1], static_cast<uint32_t>(i));
    }
    return;
  }
  bucket_shift_ = scale_bits - kLookupMaxScaleBits;
  const size_t buckets = size_t{1} << kLookupMaxScaleBits;
  bucket_entry_.resize(buckets + 1);
  size_t entry = 0;
  for (size_t b = 0; b < buckets; ++b) {
    const uint64_t first_slot = static_cast<uint64_t>(b) << bucket_shift_;
    while (starts_[entry + 1] <= first_slot) ++entry;
    bucket_entry_[b] = static_cast<uint32_t>(entry);
  }
  bucket_entry_[buckets] = static_cast<uint32_t>(freqs.size() - 1);
}

uint32_t RansDecoder::find(uint32_t slot) const {
  // The last start <= slot (frequencies are >= 1, so starts increase strictly); it lies
  // between the entries holding the first slots of this bucket and of the next.
  const size_t bucket = slot >> bucket_shift_;
  const auto first = starts_.begin() + bucket_entry_[bucket];
  const auto last = starts_.begin() + bucket_entry_[bucket + 1] + 1;
  return static_cast<uint32_t>(std::upper_bound(first, last, slot) - starts_.begin() - 1);
}

template <bool kLookup>
void RansDecoder::decode_with(const uint8_t* data, size_t size, int64_t n, uint32_t* dst) const {
  const uint8_t* const end = data + size;
  uint64_t states[kRansStates];
  const uint8_t* pos = read_states(data, size, states);
  const uint32_t mask = (uint32_t{1} << scale_bits_) - 1;
  const int scale = scale_bits_;
  const Entry* entries = entries_.data();
  const uint32_t* lookup = slot_to_entry_.data();
  auto get = [&](uint64_t& x) {
    const uint32_t slot = static_cast<uint32_t>(x) & mask;
    const uint32_t index = kLookup ? lookup[slot] : find(slot);
    const Entry e = entries[index];
    x = e.freq * (x >> scale) + slot - e.start;
    if (x < kRansLow) {
      if (pos == end) corrupt("truncated");
      uint32_t word;
      std::memcpy(&word, pos, 4);
      pos += 4;
      x = (x << 32) | word;
    }
    return index;
  };
  int64_t i = 0;
  for (; i + kRansStates <= n; i += kRansStates) {
    dst[i] = get(states[0]);
    dst[i + 1] = get(states[1]);
    dst[i + 2] = get(states[2]);
    dst[i + 3] = get(states[3]);
  }
  for (; i < n; ++i) dst[i] = get(states[i % kRansStates]);
  check_final(states, pos, end);
}

void RansDecoder::decode(const uint8_t* data, size_t size, int64_t n, uint32_t* dst) const {
  if (!slot_to_entry_.empty()) decode_with<true>(data, size, n, dst);
  else decode_with<false>(data, size, n, dst);
}

void rans_decode_reference(const uint8_t* data, size_t size, int64_t n, const std::vector<uint32_t>& freqs,
                           int scale_bits, uint32_t* dst) {
  const std::vector<uint32_t> starts = cumulative_starts(freqs);
  const uint8_t* const end = data + size;
  uint64_t states[kRansStates];
  const uint8_t* pos = read_states(data, size, states);
  const uint64_t total = uint64_t{1} << scale_bits;
  for (int64_t i = 0; i < n; ++i) {
    uint64_t& x = states[i % kRansStates];
    const uint64_t slot = x % total;
    size_t index = 0;
    while (starts[index + 1] <= slot) ++index;  // linear: slow and obviously right
    x = freqs[index] * (x / total) + slot - starts[index];
    if (x < kRansLow) {
      if (pos == end) corrupt("truncated");
      uint32_t word;
      std::memcpy(&word, pos, 4);
      pos += 4;
      x = (x << 32) | word;
    }
    dst[i] = static_cast<uint32_t>(index);
  }
  check_final(states, pos, end);
}

}  // namespace edgequant::coding
