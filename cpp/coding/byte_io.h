// Little-endian fixed-width integers and LEB128 varints over a byte buffer. The reader checks
// every read against the end of its buffer and throws CorruptData, so no length or count in a
// malicious stream can make the decoder read past its input.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common/error.h"

namespace edgequant::coding {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the coded format is little-endian and the coder memcpy's words directly");

class ByteWriter {
 public:
  explicit ByteWriter(std::vector<uint8_t>& out) : out_(out) {}

  void put_u8(uint8_t value) { out_.push_back(value); }
  void put_u32(uint32_t value) { put_raw(&value, sizeof value); }
  void put_u64(uint64_t value) { put_raw(&value, sizeof value); }
  void put_varint(uint64_t value) {
    while (value >= 0x80) {
      out_.push_back(static_cast<uint8_t>(value | 0x80));
      value >>= 7;
    }
    out_.push_back(static_cast<uint8_t>(value));
  }
  // Zigzag maps small magnitudes of either sign to small varints.
  void put_signed(int32_t value) {
    put_varint((static_cast<uint32_t>(value) << 1) ^ static_cast<uint32_t>(value >> 31));
  }
  void put_raw(const void* data, size_t size) {
    const auto* bytes = static_cast<const uint8_t*>(data);
    out_.insert(out_.end(), bytes, bytes + size);
  }

 private:
  std::vector<uint8_t>& out_;
};

class ByteReader {
 public:
  // `what` names the section being read, for error messages.
  ByteReader(const uint8_t* data, size_t size, const char* what) : pos_(data), end_(data + size), what_(what) {}

  size_t remaining() const { return static_cast<size_t>(end_ - pos_); }
  const uint8_t* position() const { return pos_; }

  uint8_t u8() { return *take(1); }
  uint32_t u32() {
    uint32_t value;
    std::memcpy(&value, take(4), 4);
    return value;
  }
  uint64_t u64() {
    uint64_t value;
    std::memcpy(&value, take(8), 8);
    return value;
  }
  uint64_t varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t byte = u8();
      if (shift == 63 && byte > 1) fail("varint overflows 64 bits");
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return value;
    }
    fail("varint longer than 10 bytes");
  }
  // A varint that must be <= limit.
  uint64_t varint_at_most(uint64_t limit, const char* field) {
    uint64_t value = varint();
    if (value > limit) fail(std::string(field) + " out of range");
    return value;
  }
  int32_t signed32() {
    uint64_t zigzag = varint_at_most(0xffffffffu, "signed value");
    return static_cast<int32_t>(static_cast<uint32_t>(zigzag >> 1) ^ (0u - static_cast<uint32_t>(zigzag & 1)));
  }
  // The next `size` bytes, checked to exist.
  const uint8_t* take(size_t size) {
    if (size > remaining()) fail("truncated");
    const uint8_t* at = pos_;
    pos_ += size;
    return at;
  }
  [[noreturn]] void fail(const std::string& message) const {
    throw CorruptData(std::string("coded stream: ") + what_ + ": " + message);
  }

 private:
  const uint8_t* pos_;
  const uint8_t* end_;
  const char* what_;
};

inline int varint_bytes(uint64_t value) {
  int bytes = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++bytes;
  }
  return bytes;
}

}  // namespace edgequant::coding
