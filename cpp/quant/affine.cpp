#include "quant/affine.h"

#include <algorithm>
#include <limits>
#include <type_traits>

#include "quant/range.h"
#include "quant/registry.h"

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

// Long channel runs (inner >= kBlockInner) are processed block by block with the per-tensor
// kernels. Short runs (e.g. axis = last dimension, inner = 1) would make that one call per
// element, so there every row of channels * inner elements is processed in one vectorised loop
// against per-position parameter rows built once.
constexpr int64_t kBlockInner = 256;

template <class T>
struct ParameterRow {
  std::vector<T> scale;
  std::vector<T> zero_point;
  std::vector<float> decode_scale;
  ParameterRow(const double* scales, const int32_t* zero_points, int64_t channels, int64_t inner)
      : scale(channels * inner), zero_point(channels * inner), decode_scale(channels * inner) {
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t i = 0; i < inner; ++i) {
        scale[c * inner + i] = static_cast<T>(scales[c]);
        zero_point[c * inner + i] = static_cast<T>(zero_points[c]);
        decode_scale[c * inner + i] = saturate_to_float(scales[c]);
      }
    }
  }
};

// The same arithmetic as Affine::encode / decode, with per-position parameters.
template <class T, class Out, bool kDecodeToo>
EDGEQUANT_INLINE int64_t row_loop(const T* __restrict src, const T* __restrict scale, const T* __restrict zero,
                                  const float* __restrict decode_scale, int64_t n, T qmin, T qmax,
                                  Out* __restrict dst) {
  int64_t non_finite = 0;
  for (int64_t j = 0; j < n; ++j) {
    non_finite += !is_finite(src[j]);
    T t = clamp_or_zero(std::nearbyint(src[j] / scale[j]) + zero[j], qmin, qmax);
    if constexpr (kDecodeToo) {
      dst[j] = saturate_to_float(decode_scale[j] *
                                 static_cast<float>(static_cast<int32_t>(t) - static_cast<int32_t>(zero[j])));
    } else {
      dst[j] = static_cast<int32_t>(t);
    }
  }
  return non_finite;
}

#define EDGEQUANT_ROW_KERNEL(T, Out, kDecodeToo)                                                          \
  EDGEQUANT_KERNEL int64_t row_kernel(const T* src, const T* scale, const T* zero, const float* decode_scale, \
                                      int64_t n, T qmin, T qmax, Out* dst, std::integral_constant<bool, kDecodeToo>) { \
    return row_loop<T, Out, kDecodeToo>(src, scale, zero, decode_scale, n, qmin, qmax, dst);               \
  }
EDGEQUANT_ROW_KERNEL(float, int32_t, false)
EDGEQUANT_ROW_KERNEL(double, int32_t, false)
EDGEQUANT_ROW_KERNEL(float, float, true)
EDGEQUANT_ROW_KERNEL(double, float, true)
#undef EDGEQUANT_ROW_KERNEL

template <class T, class Out, bool kDecodeToo>
int64_t per_channel(const AffineFormat& format, const double* scales, const int32_t* zero_points, const T* src,
                    int64_t outer, int64_t channels, int64_t inner, Out* dst) {
  std::atomic<int64_t> bad{0};
  const bool reference = force_reference();
  if (inner >= kBlockInner || reference) {
    parallel_for(
        outer * channels,
        [&](int64_t begin, int64_t end) {
          int64_t local = 0;
          for (int64_t block = begin; block < end; ++block) {
            const int64_t c = block % channels, offset = block * inner;
            Affine op(format, AffineParams{scales[c], zero_points[c]});
            if constexpr (kDecodeToo) {
              local += reference ? quantize_reference(op, src + offset, inner, dst + offset)
                                 : quantize_chunk(op, src + offset, inner, dst + offset);
            } else {
              local += reference ? encode_reference(op, src + offset, inner, dst + offset)
                                 : encode_chunk(op, src + offset, inner, dst + offset);
            }
          }
          bad += local;
        },
        std::max<int64_t>(1, (int64_t{1} << 16) / inner), 1);
    return bad.load();
  }
  const int64_t row = channels * inner;
  ParameterRow<T> params(scales, zero_points, channels, inner);
  const T qmin = static_cast<T>(format.qmin), qmax = static_cast<T>(format.qmax);
  if (outer == 1) {  // one long row: split it
    parallel_for(row, [&](int64_t begin, int64_t end) {
      bad += row_kernel(src + begin, params.scale.data() + begin, params.zero_point.data() + begin,
                        params.decode_scale.data() + begin, end - begin, qmin, qmax, dst + begin,
                        std::integral_constant<bool, kDecodeToo>{});
    });
    return bad.load();
  }
  parallel_for(
      outer,
      [&](int64_t begin, int64_t end) {
        int64_t local = 0;
        for (int64_t o = begin; o < end; ++o) {
          local += row_kernel(src + o * row, params.scale.data(), params.zero_point.data(),
                              params.decode_scale.data(), row, qmin, qmax, dst + o * row,
                              std::integral_constant<bool, kDecodeToo>{});
        }
        bad += local;
      },
      std::max<int64_t>(1, (int64_t{1} << 16) / row), 1);
  return bad.load();
}

}  // namespace

template <class T>
int64_t affine_fit_per_channel(const AffineFormat& format, const T* src, int64_t outer, int64_t channels,
                               int64_t inner, double* scales, int32_t* zero_points) {
  std::vector<double> lo(channels, std::numeric_limits<double>::infinity());
  std::vector<double> hi(channels, -std::numeric_limits<double>::infinity());
  int64_t non_finite = 0;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < channels; ++c) {
      const T* block = src + (o * channels + c) * inner;
      if (inner >= kBlockInner) {
        Range range = tensor_range(block, inner);
        non_finite += range.non_finite;
        if (range.non_finite < inner) {
          lo[c] = std::min(lo[c], range.min);
          hi[c] = std::max(hi[c], range.max);
        }
        continue;
      }
      for (int64_t i = 0; i < inner; ++i) {
        double x = static_cast<double>(block[i]);
        if (!std::isfinite(x)) {
          ++non_finite;
          continue;
        }
        lo[c] = std::min(lo[c], x);
        hi[c] = std::max(hi[c], x);
      }
    }
  }
  for (int64_t c = 0; c < channels; ++c) {
    if (lo[c] > hi[c]) lo[c] = hi[c] = 0;  // a channel of only non-finite values (refused upstream)
    AffineParams params = affine_params_from_range(format, lo[c], hi[c]);
    scales[c] = params.scale;
    zero_points[c] = params.zero_point;
  }
  return non_finite;
}

template <class T>
int64_t affine_encode_per_channel(const AffineFormat& format, const double* scales, const int32_t* zero_points,
                                  const T* src, int64_t outer, int64_t channels, int64_t inner, int32_t* dst) {
  return per_channel<T, int32_t, false>(format, scales, zero_points, src, outer, channels, inner, dst);
}

template <class T>
int64_t affine_quantize_per_channel(const AffineFormat& format, const double* scales, const int32_t* zero_points,
                                    const T* src, int64_t outer, int64_t channels, int64_t inner, float* dst) {
  return per_channel<T, float, true>(format, scales, zero_points, src, outer, channels, inner, dst);
}

int64_t affine_decode_per_channel(const AffineFormat& format, const double* scales, const int32_t* zero_points,
                                  const int32_t* src, int64_t outer, int64_t channels, int64_t inner, float* dst) {
  std::atomic<int64_t> bad{0};
  parallel_for(
      outer * channels,
      [&](int64_t begin, int64_t end) {
        int64_t local = 0;
        for (int64_t block = begin; block < end; ++block) {
          const int64_t c = block % channels, offset = block * inner;
          local += decode_chunk(Affine(format, AffineParams{scales[c], zero_points[c]}), src + offset, inner,
                                dst + offset);
        }
        bad += local;
      },
      std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, inner)), 1);
  return bad.load();
}

#define EDGEQUANT_INSTANTIATE(T)                                                                                \
  template int64_t affine_fit_per_channel(const AffineFormat&, const T*, int64_t, int64_t, int64_t, double*,   \
                                          int32_t*);                                                            \
  template int64_t affine_encode_per_channel(const AffineFormat&, const double*, const int32_t*, const T*,      \
                                             int64_t, int64_t, int64_t, int32_t*);                              \
  template int64_t affine_quantize_per_channel(const AffineFormat&, const double*, const int32_t*, const T*,    \
                                               int64_t, int64_t, int64_t, float*);
EDGEQUANT_INSTANTIATE(float)
EDGEQUANT_INSTANTIATE(double)
#undef EDGEQUANT_INSTANTIATE

// The kernels take the format and the fitted (scale, zero_point); the Python front fits them per
// tensor or per channel (affine_fit_per_channel) and runs the per-channel loops above.
const QuantizerFamily& affine_family() {
  static const QuantizerFamily family{
      "affine",
      "affine INT-b: q = clamp(round(r/s) + z, qmin, qmax), per tensor or per channel",
      {{"bits", ParameterKind::integer, "code width b", 2, 16},
       {"symmetric", ParameterKind::boolean, "symmetric range (zero point 0 or the mid code)", 0, 0, false, false, {},
        false, "asymmetric"},
       {"signed", ParameterKind::boolean, "signed codes", 0, 0, false, false, {}, false, "unsigned"},
       {"axis", ParameterKind::integer, "channel axis for one (scale, zero point) per channel", -64, 63, false, false,
        {}, true}},
      [](const Values& v) {
        const AffineFormat format(static_cast<int>(integer_value(v, "bits")), boolean_value(v, "symmetric"),
                                  boolean_value(v, "signed"));
        const double scale = real_value(v, "scale");
        const int64_t zero_point = integer_value(v, "zero_point");
        require(scale > 0 && std::isfinite(scale), "scale must be finite and > 0");
        require(zero_point >= format.qmin && zero_point <= format.qmax, "zero_point must lie in [qmin, qmax]");
        return make_kernels_of(Affine(format, AffineParams{scale, static_cast<int32_t>(zero_point)}), [](const Affine& op) {
          return std::vector<std::pair<std::string, double>>{
              {"scale", op.scale}, {"zero_point", op.zero_point}, {"qmin", op.qmin}, {"qmax", op.qmax}};
        });
      },
      [](int max_bits) {
        std::vector<Values> grid;
        for (bool per_channel : {false, true}) {
          for (int64_t bits = 2; bits <= std::min(8, max_bits); ++bits) {
            grid.push_back({{"bits", bits}, {"per_channel", per_channel}});
          }
        }
        return grid;
      },
      {{{"bits", int64_t{8}}}, {{"bits", int64_t{6}}, {"symmetric", false}, {"axis", int64_t{0}}},
       {{"bits", int64_t{2}}, {"signed", false}}},
      {{{"bits", int64_t{8}}, {"symmetric", true}, {"signed", true}, {"scale", 0.01}, {"zero_point", int64_t{0}}},
       {{"bits", int64_t{4}}, {"symmetric", false}, {"signed", false}, {"scale", 0.3}, {"zero_point", int64_t{3}}},
       {{"bits", int64_t{16}}, {"symmetric", false}, {"signed", true}, {"scale", 1e-5}, {"zero_point", int64_t{-7}}}}};
  return family;
}

}  // namespace edgequant::quant
