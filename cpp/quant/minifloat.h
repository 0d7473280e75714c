// Minifloat quantizer (SPEC §1): 1 sign bit, e exponent bits, m mantissa bits and a bias; a normal
// code (s, E, M) is the value (−1)^s · 2^(E − bias) · (1 + M/2^m). Rounding is to nearest, ties to
// the even mantissa, computed once and exactly from the input (float32 or float64, never through
// a narrower type).
//
// Symbols are the raw bit patterns: sign at bit e+m, then E, then M, zero-extended into the int32
// (fp16 symbols equal np.float16(x).view(np.uint16)). The one 32-bit format, IEEE float32
// itself, is the float32 pattern reinterpreted as int32.
//
// Modes:
//   paper  the paper's formats (Table 3.5): every code is a normal number (no zero, subnormals,
//          inf or NaN). Magnitudes below the smallest value, 0 included, go to the smallest
//          value with the sign of x (+ for ±0); magnitudes above the largest saturate.
//          NaN/Inf are refused like for every other quantizer (counted; NaN maps to symbol 0).
//   ieee   IEEE-754 style: E = 0 holds zero and subnormals, E = 2^e − 1 holds ±Inf (M = 0) and
//          NaN; overflow rounds to Inf exactly as IEEE does (|x| ≥ max + ulp/2). NaN and ±Inf
//          propagate (NaN -> sign | all-ones exponent | quiet bit).
//   fn     "finite" formats such as OCP fp8 E4M3 (ml_dtypes.float8_e4m3fn): zero and subnormals
//          as ieee, no Inf; the all-ones exponent is normal except for M all ones, which is NaN.
//          Overflow, ±Inf included, saturates to ±max (448 for E4M3), as OCP's saturating
//          conversion does; ml_dtypes' cast sends it to NaN instead. NaN -> all-ones NaN.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "common/error.h"
#include "quant/elementwise.h"

namespace edgequant::quant {

enum class MinifloatMode { paper, ieee, fn };

// c ? a : b as a bit blend. A plain ?: lets GCC sink the work of one arm into a branch, and a
// branch holding float arithmetic (which may trap) stops the loop from vectorising.
inline uint64_t blend(bool c, uint64_t a, uint64_t b) {
  const uint64_t mask = uint64_t{0} - c;
  return (a & mask) | (b & ~mask);
}

// std::signbit(x) as a bit extraction (the builtin does not vectorise for double on x86).
template <class T>
inline bool sign_bit_of(T x) {
  std::conditional_t<sizeof(T) == 8, uint64_t, uint32_t> bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits >> (8 * sizeof bits - 1);
}

struct Minifloat {
  int exponent_bits;
  int mantissa_bits;
  int bias;
  MinifloatMode mode;

  bool signed_zero;              // ieee, fn: -0 and -NaN keep their sign bit; paper: ±0 -> +
  // Derived constants (see the constructor); all magnitudes are codes without the sign bit.
  double min_normal;             // smallest normal value: E = 0 (paper) or E = 1 (ieee, fn)
  double subnormal_scale;        // 2^m / min_normal: |x| * scale is M below min_normal; 0 in paper
  // Read by encode(); 64-bit on purpose: an int32 symbol store cannot alias them, so the encode
  // loop vectorises without run-time alias checks.
  int64_t sign_shift;              // e + m: where the sign bit goes
  int64_t rounding_shift;          // 52 − m: the double mantissa bits that rounding drops
  int64_t double_exponent_offset;  // (1023 − bias) · 2^m: re-biases a double's exponent field
  int64_t max_magnitude;           // largest magnitude an input can round to (ieee: Inf)
  int64_t nan_magnitude;           // what NaN encodes to (paper: 0, refused anyway)
  // Read by decode().
  uint32_t first_normal_exponent;  // 0 (paper: E = 0 is normal) or 1
  uint32_t first_special;          // magnitudes >= this decode to Inf/NaN (paper: none)
  uint32_t inf_magnitude;          // decodes to Inf (ieee only; else an impossible magnitude)
  uint32_t magnitude_mask;         // 2^(e+m) − 1
  uint32_t code_mask;              // 2^(1+e+m) − 1

  Minifloat(int exponent_bits, int mantissa_bits, int bias, MinifloatMode mode);
  static int default_bias(int exponent_bits, MinifloatMode mode);

  double max_value() const { return decode_magnitude(max_finite_magnitude()); }
  uint32_t max_finite_magnitude() const {
    return static_cast<uint32_t>(mode == MinifloatMode::ieee ? max_magnitude - 1 : max_magnitude);
  }

  // Branch-free: both the subnormal and the normal rounding are computed and one is selected.
  template <class T>
  int32_t encode(T x) const {
    double a = std::abs(static_cast<double>(x));
    const bool nan = a != a;
    a = nan ? 0.0 : a;
    // paper: ±0 counts as positive (it maps to +smallest); ieee/fn keep the sign of zero and NaN.
    // (Both tests are evaluated unconditionally: a conditional float compare blocks vectorising.)
    const bool negative = sign_bit_of(x) & ((x < 0) | signed_zero);
    // Below min_normal the quantum is fixed: M = rint(|x| · 2^m / min_normal), carry -> E = 1.
    // (double -> int32 first: x86 before AVX-512 has no vector double -> int64 conversion.)
    const auto subnormal = static_cast<uint64_t>(static_cast<int32_t>(std::nearbyint(std::min(a, min_normal) * subnormal_scale)));
    // Above it, round the double's bit pattern to m mantissa bits (ties to even); a mantissa
    // carry runs into the exponent field, which is exactly the next binade.
    uint64_t bits;
    const double clamped = std::max(a, min_normal);
    std::memcpy(&bits, &clamped, sizeof bits);
    const uint64_t odd = (bits >> rounding_shift) & 1;
    const uint64_t rounded = (bits + ((uint64_t{1} << (rounding_shift - 1)) - 1) + odd) >> rounding_shift;
    const int64_t normal = std::min(static_cast<int64_t>(rounded) - double_exponent_offset, max_magnitude);
    uint64_t magnitude = blend(a < min_normal, subnormal, static_cast<uint64_t>(normal));
    magnitude = blend(nan, static_cast<uint64_t>(nan_magnitude), magnitude);
    return static_cast<int32_t>(static_cast<uint32_t>((uint64_t{negative} << sign_shift) | magnitude));
  }

  // The formula with frexp/ldexp and plain branches (minifloat.cpp).
  int32_t encode_reference(float x) const { return encode_reference(static_cast<double>(x)); }
  int32_t encode_reference(double x) const;

  float decode(int32_t q) const {
    const uint32_t code = static_cast<uint32_t>(q);
    const uint32_t magnitude = code & magnitude_mask;
    const float value = decode_magnitude(magnitude);
    return (code >> (exponent_bits + mantissa_bits)) & 1 ? -value : value;
  }

  bool valid(int32_t q) const { return (static_cast<uint32_t>(q) & ~code_mask) == 0; }

 private:
  static constexpr uint32_t kFloatInfBits = 0x7f800000u;
  static constexpr uint32_t kFloatQuietNanBits = 0x7fc00000u;

  float decode_magnitude(uint32_t magnitude) const {
    const uint32_t exponent = magnitude >> mantissa_bits;
    const uint32_t mantissa = magnitude & ((uint32_t{1} << mantissa_bits) - 1);
    const uint32_t implicit = exponent >= first_normal_exponent ? uint32_t{1} << mantissa_bits : 0;
    const int32_t scale_exponent =
        static_cast<int32_t>(std::max(exponent, first_normal_exponent)) - bias - mantissa_bits;
    // (implicit + M) · 2^scale_exponent is exact in double and, by the constructor's checks,
    // representable in float32, so the narrowing is exact too.
    const uint64_t scale_bits = static_cast<uint64_t>(scale_exponent + 1023) << 52;
    double scale;
    std::memcpy(&scale, &scale_bits, sizeof scale);
    const float finite = static_cast<float>(static_cast<double>(implicit + mantissa) * scale);
    // Select on the bit patterns: an integer select is if-converted where a float one may not be.
    uint32_t finite_bits;
    std::memcpy(&finite_bits, &finite, sizeof finite_bits);
    const uint32_t special_bits = magnitude == inf_magnitude ? kFloatInfBits : kFloatQuietNanBits;
    const uint32_t bits = static_cast<uint32_t>(blend(magnitude >= first_special, special_bits, finite_bits));
    float value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
  }
};

EDGEQUANT_DECLARE_CHUNK_KERNELS(Minifloat)

}  // namespace edgequant::quant
