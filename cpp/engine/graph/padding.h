// SAME padding, written once: ONNX's auto_pad SAME_UPPER / SAME_LOWER and TFLite's SAME (which
// is SAME_UPPER) for convolution and pooling windows. The engine's ops and shape inference use it
// in C++; the C export's front ends through the binding (edgequant._core.same_padding).
// Header-only so that the core's binding module can use it without the engine library.
#pragma once
#include <algorithm>
#include <cstdint>

#include "common/error.h"

namespace edgequant::engine {

// Output extent of a SAME-padded window over `in` elements with `stride`: ceil(in / stride).
inline int64_t same_output_size(int64_t in, int64_t stride) {
  require(stride > 0, "SAME padding: the stride must be > 0");
  return (in + stride - 1) / stride;
}

struct Padding {
  int64_t begin = 0, end = 0;
};

// The padding that makes `out` windows of `kernel` elements (dilated by `dilation`, `stride`
// apart) cover `in` elements: total = max(0, (out - 1)·stride + (kernel - 1)·dilation + 1 − in),
// split in two with the odd element at the end (`upper`: SAME_UPPER, TFLite's SAME) or at the
// beginning (SAME_LOWER).
inline Padding same_padding(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t dilation,
                            bool upper = true) {
  require(in >= 0 && out >= 0 && kernel > 0 && stride > 0 && dilation > 0,
          "SAME padding: sizes must be >= 0, kernel, stride and dilation > 0");
  const int64_t total = std::max<int64_t>(0, (out - 1) * stride + (kernel - 1) * dilation + 1 - in);
  const int64_t begin = upper ? total / 2 : total - total / 2;
  return {begin, total - begin};
}

}  // namespace edgequant::engine
