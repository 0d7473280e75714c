#include "coding/symbol_lookup.h"

namespace edgequant::coding {
namespace {
constexpr uint64_t kDenseMaxSpan = uint64_t{1} << 24;  // 64 MiB of entries at most
constexpr uint32_t kHashMultiplier = 0x9E3779B1u;     // Fibonacci hashing
}  // namespace

SymbolLookup::SymbolLookup(const std::vector<int32_t>& symbols, uint32_t escape_index) : escape_index_(escape_index) {
  if (symbols.empty()) return;
  const uint64_t span = static_cast<uint64_t>(int64_t{symbols.back()} - symbols.front()) + 1;
  if (span <= kDenseMaxSpan && span <= 16 * symbols.size() + 4096) {
    dense_min_ = symbols.front();
    dense_.assign(span, escape_index);
    for (size_t i = 0; i < symbols.size(); ++i) dense_[static_cast<uint32_t>(symbols[i] - dense_min_)] = static_cast<uint32_t>(i);
    return;
  }
  int bits = 1;
  while ((size_t{1} << bits) < 2 * symbols.size()) ++bits;  // load factor <= 1/2
  hash_shift_ = 32 - bits;
  keys_.assign(size_t{1} << bits, 0);
  values_.assign(size_t{1} << bits, escape_index);
  const uint32_t mask = (uint32_t{1} << bits) - 1;
  for (size_t i = 0; i < symbols.size(); ++i) {
    uint32_t slot = (static_cast<uint32_t>(symbols[i]) * kHashMultiplier) >> hash_shift_;
    while (values_[slot] != escape_index) slot = (slot + 1) & mask;
    keys_[slot] = symbols[i];
    values_[slot] = static_cast<uint32_t>(i);
  }
}

uint32_t SymbolLookup::hashed(int32_t value) const {
  const uint32_t mask = static_cast<uint32_t>(keys_.size() - 1);
  uint32_t slot = (static_cast<uint32_t>(value) * kHashMultiplier) >> hash_shift_;
  while (values_[slot] != escape_index_) {
    if (keys_[slot] == value) return values_[slot];
    slot = (slot + 1) & mask;
  }
  return escape_index_;
}

void SymbolLookup::map(const int32_t* src, int64_t n, uint32_t* dst) const {
  if (!dense_.empty()) {
    const uint32_t* dense = dense_.data();
    const uint32_t size = static_cast<uint32_t>(dense_.size());
    for (int64_t i = 0; i < n; ++i) {
      const uint32_t offset = static_cast<uint32_t>(src[i]) - static_cast<uint32_t>(dense_min_);
      dst[i] = offset < size ? dense[offset] : escape_index_;
    }
  } else if (!keys_.empty()) {
    for (int64_t i = 0; i < n; ++i) dst[i] = hashed(src[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = escape_index_;
  }
}

}  // namespace edgequant::coding
