// Byte-level helpers for the ops that only move data (Concat, Split, Slice, Transpose, Pad,
// Gather): they work on float32, int64 and quantized codes alike by copying elements of any size.
#pragma once
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "graph/tensor.h"

namespace edgequant::engine {

// The element type a copy of `t` moves: its plain integer codes or int64 as they are; float32
// values otherwise (a tensor in a backend layout, quantized or not, is read as float).
inline DType plain_dtype(const Tensor& t) {
  if (t.native || t.dtype == DType::f32) return DType::f32;
  return t.dtype;
}
inline const char* raw_data(const Tensor& t) {
  switch (plain_dtype(t)) {
    case DType::f32: return reinterpret_cast<const char*>(t.f());
    case DType::i64: return reinterpret_cast<const char*>(t.i());
    case DType::i32: return reinterpret_cast<const char*>(t.i32->data());
    default: return reinterpret_cast<const char*>(t.bytes->data());
  }
}
inline char* raw_data(Tensor& t) { return const_cast<char*>(raw_data(static_cast<const Tensor&>(t))); }
inline size_t element_size(const Tensor& t) { return dtype_size(plain_dtype(t)); }
// A new tensor of `shape` holding what raw_data(like) holds (codes keep like's parameters).
inline Tensor empty_as(const Tensor& like, const Shape& shape, const std::string& context) {
  switch (plain_dtype(like)) {
    case DType::f32: return Tensor::zeros_f32(shape, context);
    case DType::i64: return Tensor::zeros_i64(shape, context);
    case DType::i32: {
      Tensor t;
      t.dtype = DType::i32;
      t.shape = shape;
      t.i32 = std::make_shared<std::vector<int32_t>>(static_cast<size_t>(checked_numel(shape, context)));
      t.quant = like.quant;
      return t;
    }
    default: {
      if (like.is_quantized()) return Tensor::quantized(like.dtype, shape, like.quant, context);
      Tensor t;  // 8-bit integers that are no codes (a uint8 image input)
      t.dtype = like.dtype;
      t.shape = shape;
      t.bytes = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(checked_numel(shape, context)));
      return t;
    }
  }
}

// x with its data in plain row-major order for a byte copy: u8 codes in a backend's layout as plain
// codes of the same grid, made in `holder` (x itself where the backend cannot give them: read as
// float); anything else is x itself.
inline const Tensor& plain_data(const Tensor& x, Tensor& holder, const std::string& context) {
  if (!x.native || x.dtype != DType::u8 || !x.is_quantized()) return x;
  Tensor codes = Tensor::quantized(DType::u8, x.shape, x.quant, context);
  if (!x.native->to_plain_codes(codes.u8())) return x;
  holder = std::move(codes);
  return holder;
}

// Product of shape[begin:end).
inline int64_t span(const Shape& shape, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t k = begin; k < end; ++k) n *= shape[k];
  return n;
}

}  // namespace edgequant::engine
