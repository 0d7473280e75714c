// Range statistics (the "observer" half of quantization: fitting a range is not quantizing).
// Every reduction also counts non-finite elements so callers can refuse NaN/Inf.
#pragma once
#include <cstdint>
#include <vector>

namespace edgequant::quant {

struct Range {
  double min = 0;
  double max = 0;
  double max_abs = 0;
  int64_t non_finite = 0;  // NaN and ±Inf are skipped by min/max and counted here
};

// parallel=false stays on the calling thread (callers that run their own threads: the engine).
template <class T>
Range tensor_range(const T* src, int64_t n, bool parallel = true);

// Per-channel ranges of a tensor viewed as [outer, channels, inner] (channels = the axis).
template <class T>
std::vector<Range> channel_ranges(const T* src, int64_t outer, int64_t channels, int64_t inner);

struct Moments {
  double mean = 0;
  double std = 0;  // population standard deviation (ddof = 0)
  int64_t non_finite = 0;
};

template <class T>
Moments tensor_moments(const T* src, int64_t n);

}  // namespace edgequant::quant
