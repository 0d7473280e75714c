#include "backend/code_map.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define EDGEQUANT_CODE_MAP_VBMI 1
#elif defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
#define EDGEQUANT_CODE_MAP_NEON 1
#endif

#include "common/simd.h"

namespace edgequant::engine {

void map_codes_plain(const uint8_t* in, uint8_t* out, int64_t n, const uint8_t* table) {
  for (int64_t k = 0; k < n; ++k) out[k] = table[in[k]];
}

void map_codes_by_channel(const uint8_t* in, uint8_t* out, int64_t pixels, int64_t channels, const uint8_t* tables) {
  for (int64_t p = 0; p < pixels; ++p, in += channels, out += channels)
    for (int64_t c = 0; c < channels; ++c) out[c] = tables[c * 256 + in[c]];
}

#ifdef EDGEQUANT_CODE_MAP_VBMI
namespace {

// Each 64-code step: VPERMI2B looks up the low 7 bits in the table's first and in its second 128
// entries; the code's top bit picks which.
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) void map_codes_vbmi(const uint8_t* in, uint8_t* out,
                                                                          int64_t n, const uint8_t* table) {
  const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
  const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
  int64_t k = 0;
  for (; k + 64 <= n; k += 64) {
    const __m512i v = _mm512_loadu_si512(in + k);
    const __m512i low = _mm512_permutex2var_epi8(t0, v, t1), high = _mm512_permutex2var_epi8(t2, v, t3);
    _mm512_storeu_si512(out + k, _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), low, high));
  }
  if (k < n) {
    const __mmask64 rest = (1ull << (n - k)) - 1;  // n - k < 64
    const __m512i v = _mm512_maskz_loadu_epi8(rest, in + k);
    const __m512i low = _mm512_permutex2var_epi8(t0, v, t1), high = _mm512_permutex2var_epi8(t2, v, t3);
    _mm512_mask_storeu_epi8(out + k, rest, _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), low, high));
  }
}

}  // namespace
#endif

#ifdef EDGEQUANT_CODE_MAP_NEON
namespace {

// 16 codes a step: TBL on the table's first 64 entries (0 for a code past them), then TBX on each
// further 64 with the code moved down by 64, 128, 192 (a code outside that quarter keeps what it has).
void map_codes_neon(const uint8_t* in, uint8_t* out, int64_t n, const uint8_t* table) {
  const uint8x16x4_t t0 = vld1q_u8_x4(table), t1 = vld1q_u8_x4(table + 64);
  const uint8x16x4_t t2 = vld1q_u8_x4(table + 128), t3 = vld1q_u8_x4(table + 192);
  const uint8x16_t quarter = vdupq_n_u8(64);
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    const uint8x16_t v = vld1q_u8(in + k), v1 = vsubq_u8(v, quarter), v2 = vsubq_u8(v1, quarter);
    uint8x16_t r = vqtbl4q_u8(t0, v);
    r = vqtbx4q_u8(r, t1, v1);
    r = vqtbx4q_u8(r, t2, v2);
    r = vqtbx4q_u8(r, t3, vsubq_u8(v2, quarter));
    vst1q_u8(out + k, r);
  }
  map_codes_plain(in + k, out + k, n - k, table);
}

}  // namespace
#endif

void map_codes(const uint8_t* in, uint8_t* out, int64_t n, const uint8_t* table) {
#ifdef EDGEQUANT_CODE_MAP_VBMI
  if (cpu_has_avx512vbmi()) return map_codes_vbmi(in, out, n, table);
#endif
#ifdef EDGEQUANT_CODE_MAP_NEON
  return map_codes_neon(in, out, n, table);
#endif
  map_codes_plain(in, out, n, table);
}

}  // namespace edgequant::engine
