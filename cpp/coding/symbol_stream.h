// The edgequant coded-symbol format (version 1): an int32 stream, rANS-coded in independent
// blocks that share one static frequency table, with checksums over everything.
//
// All integers little-endian. Header, 40 bytes:
//   off size
//    0   4  magic "EQRS"
//    4   1  format version (1); a decoder refuses versions it does not know
//    5   1  flags: bit 0 = the table has an escape entry; other bits must be 0
//    6   2  reserved, 0
//    8   8  N, number of symbols
//   16   4  B, symbols per block (1..2^22; the last block may be shorter); 0 iff N = 0
//   20   4  CRC-32 (zlib) of the decoded symbols, as N int32 little-endian
//   24   8  P, payload bytes: exactly what follows the header
//   32   4  CRC-32 of the payload
//   36   4  CRC-32 of header bytes [0, 36)
// Payload (empty iff N = 0, so an empty stream is the header alone):
//   table:     u8 scale_bits (M = 2^scale_bits, 12..30), u8 raw_bits (escape width, 0..32),
//              varint K (symbols coded directly), zigzag varint first symbol, K-1 varints
//              (gap to the previous symbol - 1), K varints (frequency - 1) [+ 1 for the escape
//              entry], [zigzag varint escape_base if escapes]; frequencies sum to M.
//   directory: per block (ceil(N/B) of them), u32 rANS bytes, u32 escape bytes.
//   blocks:    per block, its rANS stream (see rans.h) then its escape bits: the escaped
//              values' (value - escape_base) mod 2^32 in raw_bits bits each, LSB first, in
//              symbol order, zero-padded to a byte.
// Varints are LEB128. Decoding checks every length against the bytes present, then both
// checksums; anything inconsistent throws CorruptData.
#pragma once
#include <cstdint>
#include <vector>

#include "coding/frequency_table.h"

namespace edgequant::coding {

constexpr uint8_t kFormatVersion = 1;
constexpr size_t kHeaderBytes = 40;
constexpr size_t kHeaderChecksumOffset = 36;
constexpr size_t kPayloadChecksumOffset = 32;
constexpr int64_t kMaxBlockSymbols = int64_t{1} << 22;
constexpr size_t kDirectoryEntryBytes = 8;

// Encodes src[0, n) (n >= 0) using the machine's threads; the output does not depend on them.
std::vector<uint8_t> encode_symbols(const int32_t* src, int64_t n);

// What a coded stream holds and where its bytes go.
struct StreamInfo {
  int64_t symbol_count = 0;
  int64_t block_symbols = 0;
  int64_t blocks = 0;
  int scale_bits = 0;
  int64_t table_symbols = 0;  // coded directly (the escape entry excluded)
  bool has_escape = false;
  int raw_bits = 0;
  int64_t header_bytes = 0;
  int64_t table_bytes = 0;
  int64_t directory_bytes = 0;
  int64_t rans_bytes = 0;
  int64_t escape_bytes = 0;
};

// A validated view of a coded stream (header, checksum of the payload, table and directory
// are checked on construction); decode() then fills the symbols, checks them against the
// symbol checksum and throws CorruptData on any mismatch. The data must outlive the reader.
// A stream may legitimately decode to far more than its size (one symbol of frequency M costs
// no bits), so a caller that knows how many symbols to expect passes max_symbols (>= 0): a
// stream declaring more is refused before anything is allocated or decoded.
class StreamReader {
 public:
  static constexpr int64_t kNoLimit = -1;
  StreamReader(const uint8_t* data, size_t size, int64_t max_symbols = kNoLimit);

  int64_t symbol_count() const { return info_.symbol_count; }
  const StreamInfo& info() const { return info_; }
  // The validated layout, for decoders elsewhere (the microcontroller export copies it into C
  // arrays): the frequency table, and each block's rANS and escape byte counts in stream order.
  // The blocks' data starts at header_bytes + table_bytes + directory_bytes.
  const FrequencyTable& table() const { return table_; }
  std::vector<uint32_t> block_rans_bytes() const;
  std::vector<uint32_t> block_escape_bytes() const;
  void decode(int32_t* dst) const;

 private:
  struct Block {
    const uint8_t* rans;
    uint32_t rans_bytes;
    const uint8_t* escapes;
    uint32_t escape_bytes;
  };
  StreamInfo info_;
  uint32_t symbols_checksum_ = 0;
  FrequencyTable table_;
  std::vector<Block> blocks_;
};

// Convenience: the decoded symbols (at most max_symbols of them, see StreamReader).
std::vector<int32_t> decode_symbols(const uint8_t* data, size_t size, int64_t max_symbols = StreamReader::kNoLimit);

}  // namespace edgequant::coding
