#include "coding/checksum.h"

#include <zlib.h>

#include <vector>

#include "common/parallel.h"

namespace edgequant::coding {

uint32_t crc32_of(const void* data, size_t size) {
  return static_cast<uint32_t>(crc32_z(0, static_cast<const Bytef*>(data), size));
}

uint32_t crc32_join(uint32_t first, uint32_t second, size_t second_size) {
  return static_cast<uint32_t>(crc32_combine(first, second, static_cast<z_off_t>(second_size)));
}

uint32_t parallel_crc32(const void* data, size_t size) {
  constexpr size_t kPieceBytes = size_t{1} << 22;
  const size_t pieces = (size + kPieceBytes - 1) / kPieceBytes;
  if (pieces <= 1) return crc32_of(data, size);
  const auto* bytes = static_cast<const uint8_t*>(data);
  std::vector<uint32_t> crcs(pieces);
  parallel_for(static_cast<int64_t>(pieces), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const size_t offset = static_cast<size_t>(p) * kPieceBytes;
      crcs[p] = crc32_of(bytes + offset, std::min(kPieceBytes, size - offset));
    }
  }, 1, 1);
  uint32_t crc = crcs[0];
  for (size_t p = 1; p < pieces; ++p) crc = crc32_join(crc, crcs[p], std::min(kPieceBytes, size - p * kPieceBytes));
  return crc;
}

}  // namespace edgequant::coding
