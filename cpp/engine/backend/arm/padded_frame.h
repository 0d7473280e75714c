// An NHWC code image copied into a frame padded with the zero point's code (a padded tap then adds
// nothing): the INT8 depthwise kernel's and the GEMM convs' way to read every window at fixed tap
// offsets with no bounds test.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "backend/arm/layout.h"  // fill_channels

namespace edgequant::engine::arm {

// x: ih × iw pixels of c codes. frame: frame_h × frame_w pixels (+ 16 bytes after them, set to `pad` too),
// the image's pixel (0, 0) at (top, left), the rest `pad`; an image past the frame is cropped. Each
// frame row is written once: its left pad, the image row, its right pad (filling the whole frame
// first cost a memset of every byte).
inline void copy_into_frame(const int8_t* x, int64_t ih, int64_t iw, int64_t c, int64_t top, int64_t left,
                            int64_t frame_h, int64_t frame_w, int8_t pad, int8_t* frame) {
  left = std::min(left, frame_w);
  const int64_t cols = std::max<int64_t>(0, std::min(iw, frame_w - left)), right = frame_w - left - cols;
  for (int64_t r = 0; r < frame_h; ++r) {
    int8_t* dst = frame + r * frame_w * c;
    const int64_t row = r - top;
    if (row < 0 || row >= ih || cols == 0) {
      fill_channels(pad, frame_w * c, dst);
      continue;
    }
    fill_channels(pad, left * c, dst);
    std::memcpy(dst + left * c, x + row * iw * c, static_cast<size_t>(cols * c));
    fill_channels(pad, right * c, dst + (left + cols) * c);
  }
  fill_channels(pad, 16, frame + frame_h * frame_w * c);
}

}  // namespace edgequant::engine::arm
