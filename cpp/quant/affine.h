// Affine INT-N quantization (SPEC §1, paper 003 eq. 1), ONNX QuantizeLinear / oneDNN convention:
//     q = clamp(rint(r / s) + z, qmin, qmax),   r_hat = s (q - z)
// Scale and zero point come from a range in exactly one place: affine_params_from_range().
#pragma once
#include <vector>

#include "common/error.h"
#include "quant/elementwise.h"

namespace edgequant::quant {

struct AffineFormat {
  int bits;
  bool symmetric;
  bool is_signed;
  int32_t qmin;
  int32_t qmax;

  AffineFormat(int bits_value, bool symmetric_value, bool signed_value)
      : bits(bits_value), symmetric(symmetric_value), is_signed(signed_value) {
    require(bits >= 2 && bits <= 16, "bits must be in [2, 16]");
    qmin = is_signed ? -(1 << (bits - 1)) : 0;
    qmax = is_signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
  }
};

struct AffineParams {
  double scale;
  int32_t zero_point;
};

// Symmetric: s = 2 max|r| / (qmax - qmin), z = 0 (signed) or (qmin + qmax + 1) / 2 (unsigned).
// Asymmetric: the range is widened to include 0, s = (max - min) / (qmax - qmin),
// z = clamp(rint(qmin - min / s)). An all-zero range gives s = 1. s is at least FLT_MIN so it
// stays a normal float32 (ONNX stores scales as float32).
AffineParams affine_params_from_range(const AffineFormat& format, double min, double max);

struct Affine {
  double scale;
  int32_t zero_point;
  int32_t qmin;
  int32_t qmax;

  Affine(const AffineFormat& format, const AffineParams& params)
      : scale(params.scale), zero_point(params.zero_point), qmin(format.qmin), qmax(format.qmax) {}

  template <class T>
  int32_t encode(T x) const {
    T t = std::nearbyint(x / static_cast<T>(scale)) + static_cast<T>(zero_point);
    return static_cast<int32_t>(clamp_or_zero(t, static_cast<T>(qmin), static_cast<T>(qmax)));
  }
  template <class T>
  int32_t encode_reference(T x) const {
    if (std::isnan(x)) return std::max(qmin, std::min(qmax, 0));
    double q = static_cast<double>(std::nearbyint(x / static_cast<T>(scale))) + zero_point;
    return static_cast<int32_t>(std::max<double>(qmin, std::min<double>(qmax, q)));
  }
  float decode(int32_t q) const {
    return saturate_to_float(saturate_to_float(scale) * static_cast<float>(q - zero_point));
  }
  bool valid(int32_t q) const { return q >= qmin && q <= qmax; }
};

EDGEQUANT_DECLARE_CHUNK_KERNELS(Affine)

// Per-channel variants: src viewed as [outer, channels, inner] (channels = the quantization axis),
// scales[c] / zero_points[c] for channel c.
//
// Fits every channel's parameters from its min/max; returns the number of non-finite inputs.
template <class T>
int64_t affine_fit_per_channel(const AffineFormat& format, const T* src, int64_t outer, int64_t channels,
                               int64_t inner, double* scales, int32_t* zero_points);
// Return the number of non-finite inputs (encode/quantize) or invalid symbols (decode).
template <class T>
int64_t affine_encode_per_channel(const AffineFormat& format, const double* scales, const int32_t* zero_points,
                                  const T* src, int64_t outer, int64_t channels, int64_t inner, int32_t* dst);
template <class T>
int64_t affine_quantize_per_channel(const AffineFormat& format, const double* scales, const int32_t* zero_points,
                                    const T* src, int64_t outer, int64_t channels, int64_t inner, float* dst);
int64_t affine_decode_per_channel(const AffineFormat& format, const double* scales, const int32_t* zero_points,
                                  const int32_t* src, int64_t outer, int64_t channels, int64_t inner, float* dst);

}  // namespace edgequant::quant
