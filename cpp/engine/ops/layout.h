// Byte-level helpers for the ops that only move data (Concat, Split, Slice, Transpose, Pad,
// Gather): they work on float32 and int64 alike by copying elements of either size.
#pragma once
#include <cstring>

#include "graph/tensor.h"

namespace edgequant::engine {

inline const char* raw_data(const Tensor& t) {
  return t.dtype == DType::f32 ? reinterpret_cast<const char*>(t.f()) : reinterpret_cast<const char*>(t.i());
}
inline char* raw_data(Tensor& t) {
  return t.dtype == DType::f32 ? reinterpret_cast<char*>(t.f()) : reinterpret_cast<char*>(t.i());
}
inline size_t element_size(const Tensor& t) { return t.dtype == DType::f32 ? sizeof(float) : sizeof(int64_t); }

// Product of shape[begin:end).
inline int64_t span(const Shape& shape, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t k = begin; k < end; ++k) n *= shape[k];
  return n;
}

}  // namespace edgequant::engine
