// LSD radix sort of 32-bit keys (8-bit digits): O(n) where a comparison sort is O(n log n), for
// counting symbols whose range is too wide for a dense table. Passes whose digit is the same in
// every key are skipped.
#pragma once
#include <cstdint>
#include <vector>

namespace edgequant::entropy {

void radix_sort(std::vector<uint32_t>& keys);

}  // namespace edgequant::entropy
