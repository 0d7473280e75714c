#include "coding/symbol_stream.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "coding/bit_io.h"
#include "coding/byte_io.h"
#include "coding/checksum.h"
#include "coding/rans.h"
#include "coding/symbol_lookup.h"
#include "common/parallel.h"

namespace edgequant::coding {
namespace {

constexpr uint8_t kMagic[4] = {'E', 'Q', 'R', 'S'};
constexpr uint8_t kFlagEscape = 1;

// Blocks of 2^14..2^20 symbols, at least ~16 per stream when it is long enough: both cores
// stay busy on a 1M-symbol stream, and per-block overhead (40 bytes) stays negligible.
int64_t choose_block_symbols(int64_t n) {
  int64_t block = int64_t{1} << 14;
  while (block < (int64_t{1} << 20) && block * 16 < n) block *= 2;
  return block;
}

struct Header {
  uint8_t flags = 0;
  uint64_t symbol_count = 0;
  uint32_t block_symbols = 0;
  uint32_t symbols_checksum = 0;
  uint64_t payload_bytes = 0;
  uint32_t payload_checksum = 0;
};

void write_header(const Header& header, uint8_t* dst) {
  std::vector<uint8_t> bytes;
  ByteWriter out(bytes);
  out.put_raw(kMagic, 4);
  out.put_u8(kFormatVersion);
  out.put_u8(header.flags);
  out.put_u8(0);
  out.put_u8(0);
  out.put_u64(header.symbol_count);
  out.put_u32(header.block_symbols);
  out.put_u32(header.symbols_checksum);
  out.put_u64(header.payload_bytes);
  out.put_u32(header.payload_checksum);
  out.put_u32(crc32_of(bytes.data(), bytes.size()));
  std::memcpy(dst, bytes.data(), kHeaderBytes);
}

Header read_header(const uint8_t* data, size_t size) {
  if (size < kHeaderBytes) {
    throw CorruptData("coded stream: truncated: " + std::to_string(size) + " bytes, the header alone takes " +
                      std::to_string(kHeaderBytes));
  }
  if (std::memcmp(data, kMagic, 4) != 0) throw CorruptData("coded stream: not an edgequant coded stream (bad magic bytes)");
  ByteReader in(data + 4, kHeaderBytes - 4, "header");
  const uint8_t version = in.u8();
  Header header;
  header.flags = in.u8();
  const uint8_t reserved_low = in.u8(), reserved_high = in.u8();
  const bool reserved_zero = reserved_low == 0 && reserved_high == 0;
  header.symbol_count = in.u64();
  header.block_symbols = in.u32();
  header.symbols_checksum = in.u32();
  header.payload_bytes = in.u64();
  header.payload_checksum = in.u32();
  const uint32_t header_checksum = in.u32();
  if (crc32_of(data, kHeaderChecksumOffset) != header_checksum) in.fail("checksum mismatch (corrupted header)");
  if (version != kFormatVersion) {
    in.fail("format version " + std::to_string(version) + " is not supported (this edgequant reads version " +
            std::to_string(kFormatVersion) + "; a newer edgequant may read it)");
  }
  if (header.flags & ~kFlagEscape) in.fail("unknown flags");
  if (!reserved_zero) in.fail("reserved bytes are not zero");
  const uint64_t present = size - kHeaderBytes;
  if (present < header.payload_bytes) {
    throw CorruptData("coded stream: truncated: the header announces " + std::to_string(header.payload_bytes) +
                      " payload bytes, " + std::to_string(present) + " are present");
  }
  if (present > header.payload_bytes) {
    throw CorruptData("coded stream: " + std::to_string(present - header.payload_bytes) + " unexpected bytes after the end");
  }
  if (header.symbol_count == 0) {
    if (header.block_symbols != 0 || header.payload_bytes != 0 || header.flags != 0) in.fail("inconsistent empty stream");
  } else if (header.block_symbols == 0 || header.block_symbols > kMaxBlockSymbols) {
    in.fail("block size out of range");
  } else if (header.symbol_count > (uint64_t{1} << 62)) {
    in.fail("symbol count out of range");
  }
  return header;
}

}  // namespace

std::vector<uint8_t> encode_symbols(const int32_t* src, int64_t n) {
  require(n >= 0, "encode_symbols: negative length");
  std::vector<uint8_t> out(kHeaderBytes);
  Header header;
  header.symbols_checksum = crc32_of(nullptr, 0);
  header.payload_checksum = header.symbols_checksum;
  if (n == 0) {
    write_header(header, out.data());
    return out;
  }
  const FrequencyTable table = build_frequency_table(entropy::count_symbols(src, n));
  const SymbolLookup lookup(table.symbols, table.escape_index());
  const std::vector<RansEncodeSymbol> rans_symbols = make_encode_symbols(table.freqs, table.scale_bits);
  const int64_t block_symbols = choose_block_symbols(n);
  const int64_t blocks = (n + block_symbols - 1) / block_symbols;

  struct EncodedBlock {
    std::vector<uint8_t> rans, escapes;
    uint32_t checksum = 0;
  };
  std::vector<EncodedBlock> encoded(static_cast<size_t>(blocks));
  parallel_for(blocks, [&](int64_t first, int64_t last) {
    std::vector<uint32_t> indices(static_cast<size_t>(block_symbols));
    std::vector<uint8_t> scratch(rans_max_bytes(block_symbols));
    for (int64_t b = first; b < last; ++b) {
      const int64_t begin = b * block_symbols, length = std::min(block_symbols, n - begin);
      EncodedBlock& block = encoded[static_cast<size_t>(b)];
      lookup.map(src + begin, length, indices.data());
      if (table.has_escape) {
        BitWriter bits(block.escapes);
        const uint32_t escape = table.escape_index(), base = static_cast<uint32_t>(table.escape_base);
        for (int64_t i = 0; i < length; ++i) {
          if (indices[i] == escape) bits.put(static_cast<uint32_t>(src[begin + i]) - base, table.raw_bits);
        }
        bits.finish();
      }
      uint8_t* end = scratch.data() + scratch.size();
      const uint8_t* start = rans_encode(indices.data(), length, rans_symbols.data(), table.scale_bits, end);
      block.rans.assign(start, static_cast<const uint8_t*>(end));
      block.checksum = crc32_of(src + begin, static_cast<size_t>(length) * sizeof(int32_t));
    }
  }, 1, 1);

  ByteWriter payload(out);
  write_frequency_table(table, payload);
  for (const EncodedBlock& block : encoded) {
    payload.put_u32(static_cast<uint32_t>(block.rans.size()));
    payload.put_u32(static_cast<uint32_t>(block.escapes.size()));
  }
  size_t total = out.size();
  for (const EncodedBlock& block : encoded) total += block.rans.size() + block.escapes.size();
  out.reserve(total);
  uint32_t symbols_checksum = 0;
  for (int64_t b = 0; b < blocks; ++b) {
    const EncodedBlock& block = encoded[static_cast<size_t>(b)];
    payload.put_raw(block.rans.data(), block.rans.size());
    payload.put_raw(block.escapes.data(), block.escapes.size());
    const size_t block_bytes = static_cast<size_t>(std::min(block_symbols, n - b * block_symbols)) * sizeof(int32_t);
    symbols_checksum = b == 0 ? block.checksum : crc32_join(symbols_checksum, block.checksum, block_bytes);
  }
  header.flags = table.has_escape ? kFlagEscape : 0;
  header.symbol_count = static_cast<uint64_t>(n);
  header.block_symbols = static_cast<uint32_t>(block_symbols);
  header.symbols_checksum = symbols_checksum;
  header.payload_bytes = out.size() - kHeaderBytes;
  header.payload_checksum = parallel_crc32(out.data() + kHeaderBytes, out.size() - kHeaderBytes);
  write_header(header, out.data());
  return out;
}

StreamReader::StreamReader(const uint8_t* data, size_t size, int64_t max_symbols) {
  const Header header = read_header(data, size);
  if (max_symbols >= 0 && header.symbol_count > static_cast<uint64_t>(max_symbols)) {
    throw CorruptData("coded stream: declares " + std::to_string(header.symbol_count) + " symbols, more than the " +
                      std::to_string(max_symbols) + " expected");
  }
  symbols_checksum_ = header.symbols_checksum;
  info_.header_bytes = kHeaderBytes;
  info_.symbol_count = static_cast<int64_t>(header.symbol_count);
  if (header.symbol_count == 0) return;
  const uint8_t* payload = data + kHeaderBytes;
  if (parallel_crc32(payload, header.payload_bytes) != header.payload_checksum) {
    throw CorruptData("coded stream: payload checksum mismatch (corrupted data)");
  }
  ByteReader in(payload, header.payload_bytes, "frequency table");
  table_ = read_frequency_table(in, header.flags & kFlagEscape);
  info_.table_bytes = in.position() - payload;

  const int64_t block_symbols = header.block_symbols;
  const uint64_t blocks = (header.symbol_count - 1) / header.block_symbols + 1;
  ByteReader directory(in.position(), in.remaining(), "block directory");
  if (blocks > directory.remaining() / kDirectoryEntryBytes) directory.fail("truncated");
  blocks_.resize(blocks);
  for (Block& block : blocks_) {
    block.rans_bytes = directory.u32();
    block.escape_bytes = directory.u32();
    if (!table_.has_escape && block.escape_bytes != 0) directory.fail("escape bits without an escape entry");
  }
  info_.directory_bytes = static_cast<int64_t>(blocks * kDirectoryEntryBytes);
  ByteReader streams(directory.position(), directory.remaining(), "blocks");
  for (Block& block : blocks_) {
    block.rans = streams.take(block.rans_bytes);
    block.escapes = streams.take(block.escape_bytes);
    info_.rans_bytes += block.rans_bytes;
    info_.escape_bytes += block.escape_bytes;
  }
  if (streams.remaining() != 0) streams.fail("bytes left over after the last block");
  info_.block_symbols = block_symbols;
  info_.blocks = static_cast<int64_t>(blocks);
  info_.scale_bits = table_.scale_bits;
  info_.table_symbols = static_cast<int64_t>(table_.symbols.size());
  info_.has_escape = table_.has_escape;
  info_.raw_bits = table_.raw_bits;
}

void StreamReader::decode(int32_t* dst) const {
  const int64_t n = info_.symbol_count;
  if (n == 0) return;
  const RansDecoder decoder(table_.freqs, table_.scale_bits);
  const int64_t block_symbols = info_.block_symbols;
  std::vector<uint32_t> checksums(blocks_.size());
  parallel_for(static_cast<int64_t>(blocks_.size()), [&](int64_t first, int64_t last) {
    const int32_t* symbols = table_.symbols.data();
    const uint32_t escape = table_.escape_index(), base = static_cast<uint32_t>(table_.escape_base);
    for (int64_t b = first; b < last; ++b) {
      const Block& block = blocks_[static_cast<size_t>(b)];
      const int64_t begin = b * block_symbols, length = std::min(block_symbols, n - begin);
      int32_t* out = dst + begin;
      // Entries first, in place (int32 and uint32 may alias), then entries -> values.
      uint32_t* entries = reinterpret_cast<uint32_t*>(out);
      decoder.decode(block.rans, block.rans_bytes, length, entries);
      if (table_.has_escape) {
        BitReader bits(block.escapes, block.escape_bytes);
        for (int64_t i = 0; i < length; ++i) {
          const uint32_t entry = entries[i];
          out[i] = entry == escape ? static_cast<int32_t>(base + bits.get(table_.raw_bits)) : symbols[entry];
        }
        if (!bits.exhausted_cleanly()) throw CorruptData("coded stream: escape bits left over in a block");
      } else {
        for (int64_t i = 0; i < length; ++i) out[i] = symbols[entries[i]];
      }
      checksums[static_cast<size_t>(b)] = crc32_of(out, static_cast<size_t>(length) * sizeof(int32_t));
    }
  }, 1, 1);
  uint32_t checksum = checksums[0];
  for (size_t b = 1; b < checksums.size(); ++b) {
    const int64_t length = std::min(block_symbols, n - static_cast<int64_t>(b) * block_symbols);
    checksum = crc32_join(checksum, checksums[b], static_cast<size_t>(length) * sizeof(int32_t));
  }
  if (checksum != symbols_checksum_) throw CorruptData("coded stream: decoded symbols fail their checksum");
}

std::vector<int32_t> decode_symbols(const uint8_t* data, size_t size, int64_t max_symbols) {
  StreamReader reader(data, size, max_symbols);
  std::vector<int32_t> symbols(static_cast<size_t>(reader.symbol_count()));
  reader.decode(symbols.data());
  return symbols;
}

std::vector<uint32_t> StreamReader::block_rans_bytes() const {
  std::vector<uint32_t> sizes;
  for (const Block& block : blocks_) sizes.push_back(block.rans_bytes);
  return sizes;
}

std::vector<uint32_t> StreamReader::block_escape_bytes() const {
  std::vector<uint32_t> sizes;
  for (const Block& block : blocks_) sizes.push_back(block.escape_bytes);
  return sizes;
}

}  // namespace edgequant::coding
