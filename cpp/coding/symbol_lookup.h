// Value -> table entry for the encoder: a dense array over [min, max] of the table's symbols
// when that range is small, an open-addressing hash table otherwise (symbols anywhere in
// int32). Values not in the table map to the escape entry.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace edgequant::coding {

class SymbolLookup {
 public:
  SymbolLookup(const std::vector<int32_t>& symbols, uint32_t escape_index);

  // dst[i] = entry of src[i], for i in [0, n).
  void map(const int32_t* src, int64_t n, uint32_t* dst) const;

 private:
  uint32_t hashed(int32_t value) const;

  uint32_t escape_index_;
  int32_t dense_min_ = 0;
  std::vector<uint32_t> dense_;     // entry of dense_min_ + k
  std::vector<int32_t> keys_;       // hash table slots
  std::vector<uint32_t> values_;    // entry per slot; escape_index_ marks an empty slot
  int hash_shift_ = 0;
};

}  // namespace edgequant::coding
