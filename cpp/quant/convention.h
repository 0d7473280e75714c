// The conventions every edgequant quantizer follows, written once (docstrings quote this file).
//
// Step and levels.  A uniform quantizer with L levels over [-xmax, xmax] has step
//     delta = 2 * xmax / L            (the paper's "2^k levels over [-1, 1]", ../shared/SPEC.md §1)
// Inputs outside [-xmax, xmax] are clipped to the outermost level, i.e. symbols are clamped to
//     midtread  q in [-L/2, L/2]            (a zero level; L+1 symbols, as x = ±xmax is allowed)
//     midrise   q in [-L/2, -1] ∪ [1, L/2]  (no zero level; exactly L symbols)
//     dead-zone q in [-L/2, L/2]            (0 is the dead zone)
// so dead-zone with delta 0.5 is midtread and with delta 0 is midrise (see quant/deadzone.h for
// the two measure-zero exceptions: ties and x == 0).
//
// Rounding.  "round" is round-half-to-even (IEEE default, numpy.rint), evaluated in the precision
// of the input (float32 input: float32 arithmetic, float64: float64), with the step converted to
// that precision first. Symbols are therefore bit-identical to a NumPy reference that computes
// np.rint(x / dtype(delta)) in the input's dtype. The μ-law compander is evaluated in float64.
//
// Reconstruction.  Always float32: decode(q) and quantize-dequantize q(x) both compute
//     x_hat = float(delta) * float(q)  (family-specific forms below), so q(x) == decode(encode(x))
// bit for bit, whatever the input precision. A reconstruction beyond the float32 range (the outer
// levels of a range that ends near FLT_MAX, e.g. dead-zone with delta > 0.5 or affine's qmin)
// saturates to ±FLT_MAX: finite input never comes back as ±Inf.
//
// Affine.  One convention: r = s * (q - z), q = clamp(rint(r / s) + z, qmin, qmax) (ONNX
// QuantizeLinear, oneDNN), with s and z computed in exactly one function, quant/affine.h.
//
// Non-finite input.  NaN and ±Inf weights are refused: every encoder counts them while it runs
// (no extra pass) and the caller raises ValueError naming how many and where. No undefined
// behaviour on the way: NaN is mapped to symbol 0 before any float-to-int conversion.
// Exception: Minifloat in IEEE mode, where Inf and NaN are representable and propagate.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>

#include "common/error.h"
#include "common/simd.h"

namespace edgequant::quant {

constexpr int64_t kMinLevels = 2;
constexpr int64_t kMaxLevels = int64_t{1} << 24;

// Step of a uniform quantizer with `levels` levels over [-xmax, xmax], after checking both.
inline double uniform_step(double xmax, int64_t levels) {
  require(levels >= kMinLevels && levels <= kMaxLevels, "levels must be in [2, 2^24]");
  require(xmax > 0 && xmax <= std::numeric_limits<float>::max(),
          "xmax must be > 0 and at most the largest float32 (3.4028235e38)");
  return 2.0 * xmax / static_cast<double>(levels);
}

// True unless x is NaN or ±Inf (branch-free; vectorises).
template <class T>
EDGEQUANT_INLINE bool is_finite(T x) {
  return std::abs(x) <= std::numeric_limits<T>::max();
}

// A reconstruction clamped to the finite float32 range (NaN passes through).
EDGEQUANT_INLINE float saturate_to_float(float value) {
  constexpr float kMax = std::numeric_limits<float>::max();
  value = value < -kMax ? -kMax : value;
  return value > kMax ? kMax : value;
}
// The same for a value computed in double: no out-of-range double -> float conversion.
EDGEQUANT_INLINE float saturate_to_float(double value) {
  constexpr double kMax = std::numeric_limits<float>::max();
  value = value < -kMax ? -kMax : value;
  return static_cast<float>(value > kMax ? kMax : value);
}

// t clamped to [lo, hi], with NaN sent to 0 so the following float->int conversion is defined.
template <class T>
EDGEQUANT_INLINE T clamp_or_zero(T t, T lo, T hi) {
  t = t == t ? t : T(0);
  t = t < lo ? lo : t;
  return t > hi ? hi : t;
}

}  // namespace edgequant::quant
