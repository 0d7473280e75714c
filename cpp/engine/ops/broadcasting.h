// Numpy (multidirectional) broadcasting for the elementwise ops of several inputs on any dtype (Pow,
// PRelu, Min, Max, LayerNormalization's scale, the comparisons, Where, Expand): the output shape,
// each input's strides along the output axes (0 where it is broadcast), and walks over the output
// row by row or element by element.
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include "graph/tensor.h"

namespace edgequant::engine {

// The broadcast shape of `shapes`; false in `ok` when two dims differ and neither is 1.
inline Shape broadcast_shape(const std::vector<Shape>& shapes, bool& ok) {
  size_t rank = 0;
  for (const Shape& s : shapes) rank = std::max(rank, s.size());
  Shape out(rank, 1);
  ok = true;
  for (const Shape& s : shapes)
    for (size_t k = 0; k < s.size(); ++k) {
      int64_t& o = out[rank - s.size() + k];
      if (s[k] == o || s[k] == 1) continue;
      if (o == 1) o = s[k];
      else ok = false;
    }
  return out;
}

// Element strides of `shape` (right-aligned against `out`) along out's axes; 0 where broadcast.
inline std::vector<int64_t> broadcast_strides(const Shape& shape, const Shape& out) {
  const size_t rank = out.size(), offset = rank - shape.size();
  std::vector<int64_t> strides(rank, 0);
  int64_t step = 1;
  for (size_t k = rank; k-- > offset;) {
    const int64_t dim = shape[k - offset];
    strides[k] = dim == 1 ? 0 : step;
    step *= dim;
  }
  return strides;
}

// Calls row(out_offset, offsets, inner) for each row of `out` (all axes but the last), offsets[i]
// being input i's element offset at the row's start; along the row input i advances by
// strides[i].back() (or stays when out is a scalar).
template <class RowFn>
void for_each_row(const Shape& out, const std::vector<std::vector<int64_t>>& strides, RowFn&& row) {
  const int rank = static_cast<int>(out.size());
  int64_t total = 1;
  for (int64_t d : out) total *= d;
  if (total == 0) return;
  const int64_t inner = rank ? out[rank - 1] : 1;
  std::vector<int64_t> index(std::max(rank, 1), 0), offsets(strides.size(), 0);
  for (int64_t r = 0; r < total / inner; ++r) {
    for (size_t i = 0; i < strides.size(); ++i) {
      int64_t o = 0;
      for (int k = 0; k + 1 < rank; ++k) o += index[k] * strides[i][k];
      offsets[i] = o;
    }
    row(r * inner, offsets, inner);
    for (int k = rank - 2; k >= 0; --k) {
      if (++index[k] < out[k]) break;
      index[k] = 0;
    }
  }
}

// The stride of input i along the last output axis (0 for a scalar output).
inline int64_t inner_stride(const std::vector<int64_t>& strides) { return strides.empty() ? 0 : strides.back(); }

// The broadcast shape of `shapes` into `out`; "" on success, else why they do not broadcast.
inline std::string broadcast_shapes(const std::vector<Shape>& shapes, Shape& out) {
  bool ok = true;
  out = broadcast_shape(shapes, ok);
  if (ok) return "";
  std::string message = "shapes";
  for (const Shape& t : shapes) message += " " + shape_string(t);
  return message + " do not broadcast";
}

// Calls visit(k, offsets) for every flat output index k, offsets[i] being input i's flat index.
template <class Visit>
void for_each_broadcast(const Shape& out, const std::vector<Shape>& shapes, Visit visit) {
  std::vector<std::vector<int64_t>> strides;
  for (const Shape& shape : shapes) strides.push_back(broadcast_strides(shape, out));
  std::vector<int64_t> offsets(shapes.size(), 0);
  for_each_row(out, strides, [&](int64_t start, const std::vector<int64_t>& row, int64_t inner) {
    for (int64_t j = 0; j < inner; ++j) {
      for (size_t i = 0; i < offsets.size(); ++i) offsets[i] = row[i] + j * inner_stride(strides[i]);
      visit(start + j, offsets.data());
    }
  });
}

}  // namespace edgequant::engine
