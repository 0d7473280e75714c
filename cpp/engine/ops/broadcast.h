// Numpy-style multidirectional broadcasting for the elementwise ops on any dtype (comparisons,
// Where, Expand): the output shape of several inputs, and a walk over the output that gives each
// input's flat offset (stride 0 along the axes it is broadcast over).
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include "graph/tensor.h"

namespace edgequant::engine {

// The broadcast shape of `shapes`; "" on success, else why they do not broadcast.
inline std::string broadcast_shapes(const std::vector<Shape>& shapes, Shape& out) {
  size_t rank = 0;
  for (const Shape& s : shapes) rank = std::max(rank, s.size());
  out.assign(rank, 1);
  for (const Shape& s : shapes)
    for (size_t k = 0; k < s.size(); ++k) {
      int64_t& d = out[rank - s.size() + k];
      if (s[k] == d || s[k] == 1) continue;
      if (d != 1) {
        std::string message = "shapes";
        for (const Shape& t : shapes) message += " " + shape_string(t);
        return message + " do not broadcast";
      }
      d = s[k];
    }
  return "";
}

// Calls visit(k, offsets) for every flat output index k, offsets[i] being input i's flat index.
template <class Visit>
void for_each_broadcast(const Shape& out, const std::vector<Shape>& shapes, Visit visit) {
  const size_t rank = out.size(), count = shapes.size();
  std::vector<std::vector<int64_t>> strides(count, std::vector<int64_t>(rank, 0));
  for (size_t i = 0; i < count; ++i) {
    int64_t stride = 1;
    for (size_t k = shapes[i].size(); k-- > 0;) {
      const size_t axis = rank - shapes[i].size() + k;
      strides[i][axis] = shapes[i][k] == 1 ? 0 : stride;
      stride *= shapes[i][k];
    }
  }
  int64_t total = 1;
  for (int64_t d : out) total *= d;
  std::vector<int64_t> index(rank, 0), offsets(count, 0);
  for (int64_t k = 0; k < total; ++k) {
    visit(k, offsets.data());
    for (size_t axis = rank; axis-- > 0;) {  // odometer step, offsets updated incrementally
      for (size_t i = 0; i < count; ++i) offsets[i] += strides[i][axis];
      if (++index[axis] < out[axis]) break;
      for (size_t i = 0; i < count; ++i) offsets[i] -= strides[i][axis] * out[axis];
      index[axis] = 0;
    }
  }
}

}  // namespace edgequant::engine
