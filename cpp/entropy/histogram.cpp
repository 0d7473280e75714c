#include "entropy/histogram.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>

#include "common/parallel.h"
#include "common/simd.h"
#include "entropy/radix_sort.h"

namespace edgequant::entropy {
namespace {

constexpr int64_t kDenseLimit = int64_t{1} << 22;  // table entries per thread (16 MiB of uint32)

EDGEQUANT_KERNEL void min_max_chunk(const int32_t* src, int64_t n, int32_t& lo, int32_t& hi) {
  int32_t a = lo, b = hi;
  for (int64_t i = 0; i < n; ++i) {
    a = src[i] < a ? src[i] : a;
    b = src[i] > b ? src[i] : b;
  }
  lo = a;
  hi = b;
}

void count_dense_chunk(const int32_t* src, int64_t n, int32_t min_symbol, uint32_t* table) {
  for (int64_t i = 0; i < n; ++i) ++table[static_cast<uint32_t>(src[i] - min_symbol)];
}

template <class Key>
SymbolCounts counts_from_sorted(const std::vector<Key>& sorted) {
  SymbolCounts result;
  size_t i = 0;
  while (i < sorted.size()) {
    size_t j = i + 1;
    while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
    result.symbols.push_back(static_cast<int32_t>(sorted[i]));
    result.counts.push_back(j - i);
    i = j;
  }
  result.total = sorted.size();
  return result;
}

}  // namespace

SymbolCounts count_symbols(const int32_t* src, int64_t n) {
  if (n <= 0) return {};
  int32_t lo = src[0], hi = src[0];
  std::mutex mutex;
  parallel_for(n, [&](int64_t begin, int64_t end) {
    int32_t a = src[begin], b = src[begin];
    min_max_chunk(src + begin, end - begin, a, b);
    std::lock_guard<std::mutex> lock(mutex);
    lo = std::min(lo, a);
    hi = std::max(hi, b);
  });
  const int64_t span = static_cast<int64_t>(hi) - static_cast<int64_t>(lo) + 1;
  // A dense table costs O(span) to clear and scan: worth it only when span is not much larger
  // than n (a small tensor with many levels would otherwise walk millions of empty entries).
  if (span > kDenseLimit || span > 4 * n + 4096) {
    // Radix-sort the symbols with the sign bit flipped (so unsigned order is signed order).
    std::vector<uint32_t> keys(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) keys[i] = static_cast<uint32_t>(src[i]) ^ 0x80000000u;
    radix_sort(keys);
    for (auto& key : keys) key ^= 0x80000000u;
    return counts_from_sorted(keys);
  }
  std::vector<uint64_t> table(static_cast<size_t>(span), 0);
  parallel_for(n, [&](int64_t begin, int64_t end) {
    // uint32 per-thread tables: chunks never exceed 2^32 elements here (inputs are < 2^40).
    std::vector<uint32_t> local(static_cast<size_t>(span), 0);
    for (int64_t start = begin; start < end; start += int64_t{1} << 31) {
      count_dense_chunk(src + start, std::min<int64_t>(end - start, int64_t{1} << 31), lo, local.data());
      std::lock_guard<std::mutex> lock(mutex);
      for (int64_t k = 0; k < span; ++k) table[k] += local[k];
      std::fill(local.begin(), local.end(), 0u);
    }
  });
  SymbolCounts result;
  for (int64_t k = 0; k < span; ++k) {
    if (table[k] == 0) continue;
    result.symbols.push_back(static_cast<int32_t>(lo + k));
    result.counts.push_back(table[k]);
  }
  result.total = static_cast<uint64_t>(n);
  return result;
}

SymbolCounts count_symbols_reference(const int32_t* src, int64_t n) {
  std::map<int32_t, uint64_t> counts;
  for (int64_t i = 0; i < n; ++i) ++counts[src[i]];
  SymbolCounts result;
  for (const auto& [symbol, count] : counts) {
    result.symbols.push_back(symbol);
    result.counts.push_back(count);
  }
  result.total = static_cast<uint64_t>(std::max<int64_t>(n, 0));
  return result;
}

SymbolCounts count_float_patterns(const float* src, int64_t n) {
  if (n <= 0) return {};
  std::vector<uint32_t> bits(static_cast<size_t>(n));
  std::memcpy(bits.data(), src, static_cast<size_t>(n) * sizeof(float));
  radix_sort(bits);
  return counts_from_sorted(bits);
}

}  // namespace edgequant::entropy
