#include "entropy/radix_sort.h"

#include <array>
#include <cstddef>

namespace edgequant::entropy {

void radix_sort(std::vector<uint32_t>& keys) {
  const size_t n = keys.size();
  if (n < 2) return;
  std::array<std::array<size_t, 256>, 4> histograms{};
  for (uint32_t key : keys) {
    for (int digit = 0; digit < 4; ++digit) ++histograms[digit][(key >> (8 * digit)) & 0xff];
  }
  std::vector<uint32_t> scratch(n);
  for (int digit = 0; digit < 4; ++digit) {
    auto& histogram = histograms[digit];
    if (histogram[(keys[0] >> (8 * digit)) & 0xff] == n) continue;  // every key has this digit
    size_t offset = 0;
    for (auto& count : histogram) {
      size_t start = offset;
      offset += count;
      count = start;
    }
    for (uint32_t key : keys) scratch[histogram[(key >> (8 * digit)) & 0xff]++] = key;
    keys.swap(scratch);
  }
}

}  // namespace edgequant::entropy
