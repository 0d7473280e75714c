// An NHWC code image copied into a frame padded with the zero point's code (a padded tap then adds
// nothing): the INT8 depthwise kernel's and the GEMM convs' way to read every window at fixed tap
// offsets with no bounds test.
#pragma once
#include <arm_neon.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace edgequant::engine::arm {

// x: ih × iw pixels of c codes. frame: frame_h × frame_w pixels (+ 16 bytes after them, written too),
// the image's pixel (0, 0) at (top, left), the rest `pad`; an image past the frame is cropped. Each
// frame row is written once, in order: its left pad, the image row, its right pad (filling the whole
// frame first cost a memset of every byte). Pads are stored 16 bytes at a time, up to 15 bytes past
// their end, which the image row or the next frame row write after (or the 16 bytes after the frame).
inline void copy_into_frame(const int8_t* x, int64_t ih, int64_t iw, int64_t c, int64_t top, int64_t left,
                            int64_t frame_h, int64_t frame_w, int8_t pad, int8_t* frame) {
  const int8x16_t code = vdupq_n_s8(pad);
  auto fill = [&](int8_t* dst, int64_t n) {
    for (int64_t k = 0; k < n; k += 16) vst1q_s8(dst + k, code);
  };
  left = std::min(left, frame_w);
  const int64_t cols = std::max<int64_t>(0, std::min(iw, frame_w - left)), right = frame_w - left - cols;
  for (int64_t r = 0; r < frame_h; ++r) {
    int8_t* dst = frame + r * frame_w * c;
    const int64_t row = r - top;
    if (row < 0 || row >= ih || cols == 0) {
      fill(dst, frame_w * c);
      continue;
    }
    fill(dst, left * c);
    std::memcpy(dst + left * c, x + row * iw * c, static_cast<size_t>(cols * c));
    fill(dst + (left + cols) * c, right * c);
  }
  fill(frame + frame_h * frame_w * c, 16);
}

}  // namespace edgequant::engine::arm
