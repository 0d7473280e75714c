#include "quant/affine.h"

#include <algorithm>
#include <limits>

namespace edgequant::quant {

EDGEQUANT_DEFINE_CHUNK_KERNELS(Affine)

AffineParams affine_params_from_range(const AffineFormat& format, double min, double max) {
  require(std::isfinite(min) && std::isfinite(max) && min <= max, "range must be finite with min <= max");
  const double span = static_cast<double>(format.qmax) - static_cast<double>(format.qmin);
  const double min_scale = static_cast<double>(std::numeric_limits<float>::min());
  AffineParams params{1.0, 0};
  if (format.symmetric) {
    double max_abs = std::max(std::abs(min), std::abs(max));
    params.zero_point = format.is_signed ? 0 : (format.qmin + format.qmax + 1) / 2;
    if (max_abs > 0) params.scale = std::max(2.0 * max_abs / span, min_scale);
    return params;
  }
  double lo = std::min(min, 0.0), hi = std::max(max, 0.0);
  if (hi - lo <= 0) {
    params.zero_point = format.is_signed ? 0 : format.qmin;
    return params;
  }
  params.scale = std::max((hi - lo) / span, min_scale);
  double zero = std::nearbyint(format.qmin - lo / params.scale);
  params.zero_point = static_cast<int32_t>(std::clamp<double>(zero, format.qmin, format.qmax));
  return params;
}

namespace {

// Runs kernel(op, channel block) for every (outer, channel) block, blocks split across cores.
template <class Kernel>
int64_t for_each_channel_block(const AffineFormat& format, const std::vector<AffineParams>& params,
                               int64_t outer, int64_t inner, Kernel&& kernel) {
  const int64_t channels = static_cast<int64_t>(params.size());
  std::atomic<int64_t> bad{0};
  parallel_for(
      outer * channels,
      [&](int64_t begin, int64_t end) {
        int64_t local = 0;
        for (int64_t block = begin; block < end; ++block) {
          Affine op(format, params[static_cast<size_t>(block % channels)]);
          local += kernel(op, block * inner);
        }
        bad += local;
      },
      std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, inner)), 1);
  return bad.load();
}

}  // namespace

template <class T>
int64_t affine_encode_per_channel(const AffineFormat& format, const std::vector<AffineParams>& params,
                                  const T* src, int64_t outer, int64_t inner, int32_t* dst) {
  const bool reference = force_reference();
  return for_each_channel_block(format, params, outer, inner, [&](const Affine& op, int64_t offset) {
    return reference ? encode_reference(op, src + offset, inner, dst + offset)
                     : encode_chunk(op, src + offset, inner, dst + offset);
  });
}

template <class T>
int64_t affine_quantize_per_channel(const AffineFormat& format, const std::vector<AffineParams>& params,
                                    const T* src, int64_t outer, int64_t inner, float* dst) {
  const bool reference = force_reference();
  return for_each_channel_block(format, params, outer, inner, [&](const Affine& op, int64_t offset) {
    return reference ? quantize_reference(op, src + offset, inner, dst + offset)
                     : quantize_chunk(op, src + offset, inner, dst + offset);
  });
}

int64_t affine_decode_per_channel(const AffineFormat& format, const std::vector<AffineParams>& params,
                                  const int32_t* src, int64_t outer, int64_t inner, float* dst) {
  return for_each_channel_block(format, params, outer, inner, [&](const Affine& op, int64_t offset) {
    return decode_chunk(op, src + offset, inner, dst + offset);
  });
}

template int64_t affine_encode_per_channel(const AffineFormat&, const std::vector<AffineParams>&, const float*,
                                           int64_t, int64_t, int32_t*);
template int64_t affine_encode_per_channel(const AffineFormat&, const std::vector<AffineParams>&, const double*,
                                           int64_t, int64_t, int32_t*);
template int64_t affine_quantize_per_channel(const AffineFormat&, const std::vector<AffineParams>&,
                                             const float*, int64_t, int64_t, float*);
template int64_t affine_quantize_per_channel(const AffineFormat&, const std::vector<AffineParams>&,
                                             const double*, int64_t, int64_t, float*);

}  // namespace edgequant::quant
