#include "backend/code_add_lanes.h"

#include <algorithm>

#include "common/simd.h"

#if defined(__x86_64__) && defined(__GNUC__)
// GCC 12 warns inside its own AVX-512 intrinsics (their "undefined" source operands, GCC bug 105593)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#define EDGEQUANT_CODE_ADD_AVX512 1
#endif

namespace edgequant::engine {

#ifdef EDGEQUANT_CODE_ADD_AVX512
namespace {

// One MultiplyByQuantizedMultiplier (multiplier, shift) for 16 int32 lanes.
struct Multiplier {
  __m512i multiplier, mask, half;  // the rounding shift's remainder mask and its half
  __m128i left, right;
  __attribute__((target("avx512f"))) Multiplier(int32_t m, int32_t shift) {
    const int32_t l = std::max(shift, 0), r = std::max(-shift, 0);
    const int32_t low = static_cast<int32_t>((int64_t{1} << r) - 1);
    multiplier = _mm512_set1_epi32(m), mask = _mm512_set1_epi32(low), half = _mm512_set1_epi32(low >> 1);
    left = _mm_cvtsi32_si128(l), right = _mm_cvtsi32_si128(r);
  }
};

// x·2^left, then SaturatingRoundingDoublingHighMul as floor((x·m + 2^30) / 2^31) — equal to gemmlowp's
// nudge-and-truncate for either sign; m < 2^31, so its saturating case never arises — then
// RoundingDivideByPOT by `right`, ties away from zero: eq_multiply_by_quantized_multiplier in lanes.
__attribute__((target("avx512f"))) inline __m512i multiply(__m512i x, const Multiplier& s) {
  const __m512i nudge = _mm512_set1_epi64(int64_t{1} << 30);
  x = _mm512_sll_epi32(x, s.left);
  const __m512i even = _mm512_add_epi64(_mm512_mul_epi32(x, s.multiplier), nudge);
  const __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), s.multiplier), nudge);
  // bits 31..62 of each product: the even lanes' into their low half, the odd lanes' into their high half
  const __m512i high = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 31), _mm512_slli_epi64(odd, 1));
  const __m512i remainder = _mm512_and_si512(high, s.mask);
  const __m512i threshold = _mm512_sub_epi32(s.half, _mm512_srai_epi32(high, 31));  // one more below zero
  const __m512i shifted = _mm512_sra_epi32(high, s.right);
  return _mm512_mask_sub_epi32(shifted, _mm512_cmpgt_epi32_mask(remainder, threshold), shifted,
                               _mm512_set1_epi32(-1));
}

// 16 u8 codes as int32 lanes.
__attribute__((target("avx512f"))) inline __m512i codes(const uint8_t* q) {
  return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)));
}

// The codes [0, k) for the largest k <= n a multiple of 16; returns k.
__attribute__((target("avx512f"))) int64_t add_code_lanes(const CodeAddition& p, const uint8_t* a, const uint8_t* b,
                                                           uint8_t* y, int64_t n) {
  const Multiplier first(p.multiplier_a, p.shift_a), second(p.multiplier_b, p.shift_b),
      out(p.output_multiplier, p.output_shift);
  const __m512i zero_a = _mm512_set1_epi32(p.zero_a), zero_b = _mm512_set1_epi32(p.zero_b);
  const __m512i zero = _mm512_set1_epi32(p.output_zero), lo = _mm512_set1_epi32(p.min), hi = _mm512_set1_epi32(p.max);
  const __m128i left = _mm_cvtsi32_si128(p.left_shift);
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    const __m512i x = multiply(_mm512_sll_epi32(_mm512_sub_epi32(codes(a + k), zero_a), left), first);
    const __m512i z = multiply(_mm512_sll_epi32(_mm512_sub_epi32(codes(b + k), zero_b), left), second);
    const __m512i sum = _mm512_add_epi32(multiply(_mm512_add_epi32(x, z), out), zero);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + k),
                     _mm512_cvtepi32_epi8(_mm512_min_epi32(_mm512_max_epi32(sum, lo), hi)));
  }
  return k;
}

}  // namespace
#endif

void add_code_arrays(const CodeAddition& p, const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n) {
  int64_t k = 0;
#ifdef EDGEQUANT_CODE_ADD_AVX512
  if (cpu_has_avx512f()) k = add_code_lanes(p, a, b, y, n);
#endif
  for (; k < n; ++k) y[k] = static_cast<uint8_t>(add_codes(p, a[k], b[k]));
}

}  // namespace edgequant::engine
