// Vector forms of the reference backend's per-element float steps, equal to them bit for bit:
// the u8 encode of quant::Affine::encode<float>, apply_activation (relu / clip as the same
// comparisons and selects, NaN included, swish through the same e^x polynomial, then the affine
// step as a multiply and an add; hardsigmoid and hardswish lane by lane through apply_activation
// itself), and the INT8 dequantization double(iacc)·s_in·s_w + bias rounded once to float. Compiled without
// FMA contraction (the engine's aarch64 flags), so each vector step rounds as the scalar one.
#pragma once
#include <arm_neon.h>

#include <cstdint>
#include <type_traits>

#include "backend/arm/fixed_point_neon.h"
#include "backend/backend.h"
#include "backend/vector_exp.h"

namespace edgequant::engine::arm {

// quant::Affine::encode<float> on 4 lanes, its constants loaded once for a loop: the u8 codes as int32.
struct Encoder4 {
  explicit Encoder4(const quant::Affine& a)
      : scale(vdupq_n_f32(static_cast<float>(a.scale))), zero(vdupq_n_f32(static_cast<float>(a.zero_point))),
        lo(vdupq_n_s32(static_cast<int32_t>(a.qmin))), hi(vdupq_n_s32(static_cast<int32_t>(a.qmax))) {}
  // The clamp after the conversion: FCVTZS takes NaN to 0 (as the scalar encode does) and
  // saturates, and rndn(x / s) + z is a whole number, so clamping the integer equals clamping the float.
  int32x4_t operator()(float32x4_t x) const {
    const float32x4_t t = vaddq_f32(vrndnq_f32(vdivq_f32(x, scale)), zero);
    return vminq_s32(vmaxq_s32(vcvtq_s32_f32(t), lo), hi);
  }
  float32x4_t scale, zero;
  int32x4_t lo, hi;
};

// x / s rounded to nearest-even, + z, NaN → 0, clamped to [0, 255]; stored as the s8 q − 128.
inline void encode_shifted(const float* x, int64_t n, const quant::Affine& a, int8_t* dst) {
  const Encoder4 encode(a);
  const int32x4_t shift = vdupq_n_s32(128);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const int32x4_t q0 = vsubq_s32(encode(vld1q_f32(x + i)), shift), q1 = vsubq_s32(encode(vld1q_f32(x + i + 4)), shift);
    vst1_s8(dst + i, vmovn_s16(vcombine_s16(vmovn_s32(q0), vmovn_s32(q1))));
  }
  for (; i < n; ++i) dst[i] = static_cast<int8_t>(a.encode(x[i]) - 128);
}

// quant::Affine::encode<float> on 4 lanes: the u8 codes as int32.
inline int32x4_t encode4(float32x4_t x, const quant::Affine& a) { return Encoder4(a)(x); }

// float(a.scale · (q − z)) on 4 lanes: u8 codes q read as the reference reads a u8 residual.
inline float32x4_t decode4(int32x4_t codes, const quant::Affine& a) {
  const int32x4_t q = vsubq_s32(codes, vdupq_n_s32(a.zero_point));
  const float64x2_t s = vdupq_n_f64(a.scale);
  const float64x2_t lo = vmulq_f64(s, vcvtq_f64_s64(vmovl_s32(vget_low_s32(q))));
  const float64x2_t hi = vmulq_f64(s, vcvtq_f64_s64(vmovl_high_s32(q)));
  return vcvt_high_f32_f64(vcvt_f32_f64(lo), hi);
}

// float(a.scale · (encode(r) − z)) on 4 lanes: a residual rounded through u8 as the reference does.
inline float32x4_t through_u8(float32x4_t r, const quant::Affine& a) { return decode4(encode4(r, a), a); }

// encode_shifted of n images of NCHW planes (c × hw), written NHWC: 8 pixels of one channel per
// step, the encoder's constants held for the whole image; 3 or 4 channels (an image's RGB, RGBA)
// interleaved by one store, other counts stored byte by byte c apart.
inline void encode_shifted_nhwc(const float* x, int64_t n, int64_t c, int64_t hw, const quant::Affine& a,
                                int8_t* dst) {
  const Encoder4 encode(a);
  const int32x4_t shift = vdupq_n_s32(128);
  auto encode8 = [&](const float* values) {  // 8 values to their s8 codes
    const int16x8_t q = vcombine_s16(vmovn_s32(vsubq_s32(encode(vld1q_f32(values)), shift)),
                                     vmovn_s32(vsubq_s32(encode(vld1q_f32(values + 4)), shift)));
    return vmovn_s16(q);
  };
  const int64_t hw8 = hw / 8 * 8;
  for (int64_t i = 0; i < n; ++i) {
    const float* image = x + i * c * hw;
    int8_t* out = dst + i * hw * c;
    if (c == 3 || c == 4) {
      for (int64_t p = 0; p < hw8; p += 8) {
        if (c == 3) {
          vst3_s8(out + p * 3, int8x8x3_t{{encode8(image + p), encode8(image + hw + p), encode8(image + 2 * hw + p)}});
        } else {
          vst4_s8(out + p * 4, int8x8x4_t{{encode8(image + p), encode8(image + hw + p), encode8(image + 2 * hw + p),
                                           encode8(image + 3 * hw + p)}});
        }
      }
    } else {
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t p = 0; p < hw8; p += 8) {
          const int8x8_t v = encode8(image + ch * hw + p);
          int8_t* o = out + p * c + ch;
          vst1_lane_s8(o, v, 0), vst1_lane_s8(o + c, v, 1), vst1_lane_s8(o + 2 * c, v, 2), vst1_lane_s8(o + 3 * c, v, 3);
          vst1_lane_s8(o + 4 * c, v, 4), vst1_lane_s8(o + 5 * c, v, 5), vst1_lane_s8(o + 6 * c, v, 6);
          vst1_lane_s8(o + 7 * c, v, 7);
        }
    }
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p = hw8; p < hw; ++p) out[p * c + ch] = static_cast<int8_t>(a.encode(image[ch * hw + p]) - 128);
  }
}

// u8 codes of n images of NCHW planes (c × hw) to NHWC s8 codes q − 128 (the GEMM's rows): 16
// pixels per step, one plane (c = 1) flipped in place, 3 or 4 (an image's RGB, RGBA) interleaved by
// one store, other counts stored byte by byte c apart.
inline void shift_codes_nhwc(const uint8_t* x, int64_t n, int64_t c, int64_t hw, int8_t* dst) {
  const uint8x16_t sign = vdupq_n_u8(0x80);  // q − 128 of a u8 is its top bit flipped
  auto shifted = [&](const uint8_t* p) { return vreinterpretq_s8_u8(veorq_u8(vld1q_u8(p), sign)); };
  const int64_t hw16 = hw / 16 * 16;
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* image = x + i * c * hw;
    int8_t* out = dst + i * hw * c;
    for (int64_t p = 0; p < hw16; p += 16) {
      if (c == 1) {
        vst1q_s8(out + p, shifted(image + p));
      } else if (c == 3) {
        vst3q_s8(out + p * 3, int8x16x3_t{{shifted(image + p), shifted(image + hw + p), shifted(image + 2 * hw + p)}});
      } else if (c == 4) {
        vst4q_s8(out + p * 4, int8x16x4_t{{shifted(image + p), shifted(image + hw + p), shifted(image + 2 * hw + p),
                                           shifted(image + 3 * hw + p)}});
      } else {
        for (int64_t ch = 0; ch < c; ++ch) {
          const int8x16_t v = shifted(image + ch * hw + p);
          int8_t* o = out + p * c + ch;
          vst1q_lane_s8(o, v, 0), vst1q_lane_s8(o + c, v, 1), vst1q_lane_s8(o + 2 * c, v, 2);
          vst1q_lane_s8(o + 3 * c, v, 3), vst1q_lane_s8(o + 4 * c, v, 4), vst1q_lane_s8(o + 5 * c, v, 5);
          vst1q_lane_s8(o + 6 * c, v, 6), vst1q_lane_s8(o + 7 * c, v, 7), vst1q_lane_s8(o + 8 * c, v, 8);
          vst1q_lane_s8(o + 9 * c, v, 9), vst1q_lane_s8(o + 10 * c, v, 10), vst1q_lane_s8(o + 11 * c, v, 11);
          vst1q_lane_s8(o + 12 * c, v, 12), vst1q_lane_s8(o + 13 * c, v, 13), vst1q_lane_s8(o + 14 * c, v, 14);
          vst1q_lane_s8(o + 15 * c, v, 15);
        }
      }
    }
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p = hw16; p < hw; ++p) out[p * c + ch] = static_cast<int8_t>(image[ch * hw + p] - 128);
  }
}

// 2^n on 4 lanes, n in [-126, 127] (vector_exp.h pow2).
inline float32x4_t pow2_4(int32x4_t n) { return vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n, vdupq_n_s32(127)), 23)); }

// exp_lane of vector_exp.h on 4 lanes, step for step (no FMA: each step rounds as the scalar's).
inline float32x4_t exp4(float32x4_t x) {
  const float32x4_t low = vdupq_n_f32(kExpLow), high = vdupq_n_f32(kExpHigh), zero = vdupq_n_f32(0);
  // FMAX / FMIN: the scalar's selects (a quiet NaN passes through either; no bound is a zero)
  const float32x4_t c = vminq_f32(vmaxq_f32(x, low), high);
  // The scalar takes a NaN t to 0 before rounding; here t + half stays NaN and FCVTZS converts NaN
  // to 0: the same whole number, without the select.
  const float32x4_t t = vmulq_f32(c, vdupq_n_f32(1.44269504088896341f));
  const float32x4_t half = vbslq_f32(vcgeq_f32(t, zero), vdupq_n_f32(0.5f), vdupq_n_f32(-0.5f));
  const int32x4_t whole = vcvtq_s32_f32(vaddq_f32(t, half));  // truncates, as static_cast
  const float32x4_t n = vcvtq_f32_s32(whole);
  float32x4_t r = vsubq_f32(c, vmulq_f32(n, vdupq_n_f32(0.693359375f)));
  r = vaddq_f32(r, vmulq_f32(n, vdupq_n_f32(2.12194440e-4f)));
  float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
  for (const float k : {1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f})
    p = vaddq_f32(vmulq_f32(p, r), vdupq_n_f32(k));
  p = vaddq_f32(vaddq_f32(vmulq_f32(vmulq_f32(p, r), r), r), vdupq_n_f32(1.f));
  const int32x4_t halved = vshrq_n_s32(whole, 1);
  return vmulq_f32(vmulq_f32(p, pow2_4(halved)), pow2_4(vsubq_s32(whole, halved)));
}

// apply_activation on 4 lanes, the kind known at compile time (activate() picks it).
template <Activation::Kind kKind>
inline float32x4_t activate_as(const Activation& act, float32x4_t x) {
  if constexpr (kKind == Activation::Kind::hardsigmoid || kKind == Activation::Kind::hardswish ||
                kKind == Activation::Kind::gelu) {
    float v[4];  // the affine step included
    vst1q_f32(v, x);
    for (float& e : v) e = apply_activation(act, e);
    return vld1q_f32(v);
  } else {
    if constexpr (kKind == Activation::Kind::swish) {  // x / (1 + e^−x), as the reference
      x = vdivq_f32(x, vaddq_f32(vdupq_n_f32(1.f), exp4(vnegq_f32(x))));
    } else if constexpr (kKind == Activation::Kind::relu) {
      // x > 0 ? x : 0 in one instruction: FMAXNM takes +0 from (−0, +0) and the number from (qNaN, 0)
      x = vmaxnmq_f32(x, vdupq_n_f32(0));
    } else if constexpr (kKind == Activation::Kind::clip) {  // std::min(std::max(x, lo), hi)
      const float32x4_t lo = vdupq_n_f32(act.lo), hi = vdupq_n_f32(act.hi);
      x = vbslq_f32(vcltq_f32(x, lo), lo, x);
      x = vbslq_f32(vcltq_f32(hi, x), hi, x);
    }
    if (act.has_affine()) x = vaddq_f32(vmulq_f32(x, vdupq_n_f32(act.scale)), vdupq_n_f32(act.shift));
    return x;
  }
}

inline float32x4_t activate(const Activation& act, float32x4_t x) {
  switch (act.kind) {
    case Activation::Kind::relu: return activate_as<Activation::Kind::relu>(act, x);
    case Activation::Kind::clip: return activate_as<Activation::Kind::clip>(act, x);
    case Activation::Kind::swish: return activate_as<Activation::Kind::swish>(act, x);
    case Activation::Kind::hardsigmoid: return activate_as<Activation::Kind::hardsigmoid>(act, x);
    case Activation::Kind::hardswish: return activate_as<Activation::Kind::hardswish>(act, x);
    case Activation::Kind::gelu: return activate_as<Activation::Kind::gelu>(act, x);
    default: return activate_as<Activation::Kind::none>(act, x);
  }
}

// act with scale 1 and shift 0 as constants the compiler sees: a loop compiled for activations
// without the affine step, where activate_as then drops its test of them at every vector.
inline Activation without_affine(Activation act) {
  act.scale = 1.f;
  act.shift = 0.f;
  return act;
}

// Whether an activation costs enough per vector (swish's e^x and its ~14 constants; the lane-by-lane
// kinds) that a kernel holding a whole tile in registers stores the tile first and activates it
// from memory a vector at a time: with the tile live, GCC reloaded every constant and spilled values
// for each vector (~15 instructions of 45).
template <Activation::Kind kKind>
constexpr bool kActivatesFromMemory = kKind != Activation::Kind::none && kKind != Activation::Kind::relu &&
                                      kKind != Activation::Kind::clip;

// activate_as over `rows` rows of `vectors` 4-lane vectors (row r at p + r * ld), in place; the
// affine step only with kAffine.
template <Activation::Kind kKind, bool kAffine>
[[gnu::noinline]] void activate_in_place(const Activation& activation, float* p, int64_t ld, int64_t rows,
                                         int vectors) {
  const Activation act = kAffine ? activation : without_affine(activation);
  for (int64_t r = 0; r < rows; ++r, p += ld)
    for (int v = 0; v < vectors; ++v) vst1q_f32(p + 4 * v, activate_as<kKind>(act, vld1q_f32(p + 4 * v)));
}


// f(std::integral_constant<Activation::Kind, act.kind>{}): a loop body compiled once per kind.
template <class F>
inline void with_activation(const Activation& act, F&& f) {
  using K = Activation::Kind;
  switch (act.kind) {
    case K::relu: return f(std::integral_constant<K, K::relu>{});
    case K::clip: return f(std::integral_constant<K, K::clip>{});
    case K::swish: return f(std::integral_constant<K, K::swish>{});
    case K::hardsigmoid: return f(std::integral_constant<K, K::hardsigmoid>{});
    case K::hardswish: return f(std::integral_constant<K, K::hardswish>{});
    case K::gelu: return f(std::integral_constant<K, K::gelu>{});
    default: return f(std::integral_constant<K, K::none>{});
  }
}

// f(kind, affine): with_activation, and whether act has the affine step as a std::bool_constant
// (with false, the body takes without_affine(act)).
template <class F>
inline void with_activation_and_affine(const Activation& act, F&& f) {
  with_activation(act, [&](auto kind) {
    if (act.has_affine()) f(kind, std::true_type{});
    else f(kind, std::false_type{});
  });
}

// float(double(acc) · in_scale · w_scale + bias) on 4 lanes; w_scale and bias as doubles.
inline float32x4_t dequantize(int32x4_t acc, float64x2_t in_scale, const double* w_scale, const double* bias) {
  float64x2_t lo = vcvtq_f64_s64(vmovl_s32(vget_low_s32(acc))), hi = vcvtq_f64_s64(vmovl_high_s32(acc));
  lo = vaddq_f64(vmulq_f64(vmulq_f64(lo, in_scale), vld1q_f64(w_scale)), vld1q_f64(bias));
  hi = vaddq_f64(vmulq_f64(vmulq_f64(hi, in_scale), vld1q_f64(w_scale + 2)), vld1q_f64(bias + 2));
  return vcvt_high_f32_f64(vcvt_f32_f64(lo), hi);
}

// Lane l of v to dst[l · stride] (an NHWC vector of 4 channels into NCHW planes).
inline void store_strided(float* dst, int64_t stride, float32x4_t v) {
  vst1q_lane_f32(dst, v, 0);
  vst1q_lane_f32(dst + stride, v, 1);
  vst1q_lane_f32(dst + 2 * stride, v, 2);
  vst1q_lane_f32(dst + 3 * stride, v, 3);
}

}  // namespace edgequant::engine::arm
