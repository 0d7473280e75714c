// Raw bit fields, least significant bit first, for escaped symbols (values the frequency table
// does not list are sent as `raw_bits`-bit offsets beside the rANS stream). The reader is
// bounds-checked; the writer grows its vector.
#pragma once
#include <cstdint>
#include <vector>

#include "common/error.h"

namespace edgequant::coding {

class BitWriter {
 public:
  explicit BitWriter(std::vector<uint8_t>& out) : out_(out) {}

  void put(uint32_t value, int bits) {  // bits in [0, 32]
    if (bits == 0) return;
    buffer_ |= static_cast<uint64_t>(value & mask(bits)) << filled_;
    filled_ += bits;
    while (filled_ >= 8) {
      out_.push_back(static_cast<uint8_t>(buffer_));
      buffer_ >>= 8;
      filled_ -= 8;
    }
  }
  // Pads the last byte with zero bits (the reader insists on them).
  void finish() {
    if (filled_ > 0) out_.push_back(static_cast<uint8_t>(buffer_));
    buffer_ = 0;
    filled_ = 0;
  }
  static uint64_t mask(int bits) { return (uint64_t{1} << bits) - 1; }

 private:
  std::vector<uint8_t>& out_;
  uint64_t buffer_ = 0;
  int filled_ = 0;
};

class BitReader {
 public:
  BitReader(const uint8_t* data, size_t size) : pos_(data), end_(data + size) {}

  uint32_t get(int bits) {
    if (bits == 0) return 0;
    while (filled_ < bits) {
      if (pos_ == end_) throw CorruptData("coded stream: escaped symbols run past their section");
      buffer_ |= static_cast<uint64_t>(*pos_++) << filled_;
      filled_ += 8;
    }
    uint32_t value = static_cast<uint32_t>(buffer_ & BitWriter::mask(bits));
    buffer_ >>= bits;
    filled_ -= bits;
    return value;
  }
  // True when every byte was used and the padding bits are zero, as the writer leaves them.
  bool exhausted_cleanly() const { return pos_ == end_ && filled_ < 8 && buffer_ == 0; }

 private:
  const uint8_t* pos_;
  const uint8_t* end_;
  uint64_t buffer_ = 0;
  int filled_ = 0;
};

}  // namespace edgequant::coding
