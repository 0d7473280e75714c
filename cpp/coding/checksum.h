// CRC-32 (zlib's) of long buffers on all threads: pieces checksummed in parallel, then joined
// with crc32_combine, so the result equals one sequential crc32 over the whole buffer.
#pragma once
#include <cstddef>
#include <cstdint>

namespace edgequant::coding {

uint32_t crc32_of(const void* data, size_t size);           // one thread
uint32_t parallel_crc32(const void* data, size_t size);     // all threads, same value
uint32_t crc32_join(uint32_t first, uint32_t second, size_t second_size);  // crc of first ++ second

}  // namespace edgequant::coding
