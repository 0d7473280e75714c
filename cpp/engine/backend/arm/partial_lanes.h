// The last 1-3 floats of a row as a vector and back: n (< 4) floats into the low lanes of a zero
// vector (a tail the kernels then treat as whole; the zero lanes are never stored), and the low n
// lanes of a vector to memory. Nothing read or written past p + n.
#pragma once
#include <arm_neon.h>

#include <cstdint>
#include <cstring>

namespace edgequant::engine::arm {

inline float32x4_t load_lanes(const float* p, int64_t n) {
  float lanes[4] = {0.f, 0.f, 0.f, 0.f};
  std::memcpy(lanes, p, static_cast<size_t>(n) * sizeof(float));
  return vld1q_f32(lanes);
}

inline void store_lanes(float* p, float32x4_t v, int64_t n) {
  float lanes[4];
  vst1q_f32(lanes, v);
  std::memcpy(p, lanes, static_cast<size_t>(n) * sizeof(float));
}

}  // namespace edgequant::engine::arm
