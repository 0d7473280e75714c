// A quantized model's Add of two u8 code tensors lying in one oneDNN layout (ops/code_add.cpp): TFLite's
// integer Add (backend/fixed_point_requantization.h add_codes) byte for byte over the two buffers —
// padding included, whose sums nobody reads. Large tensors read its table of every output code by the two
// input codes (64 KiB, made on the first such run), 16 codes a step with an AVX-512 gather; small ones
// compute it (backend/code_add_lanes.h): the table leaves the caches between runs, and warming it again
// cost MobileNetV2's sums (8 to 75 thousand codes) more than the arithmetic. The sum stays in that layout
// for the convs after it (the plain path reordered both inputs and the next conv's input).

// GCC 12 warns inside its own AVX-512 intrinsics (their "undefined" source operands, GCC bug 105593)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>
#include <vector>

#include "backend/code_add_lanes.h"
#include "backend/fixed_point_requantization.h"
#include "backend/onednn/dnnl_common.h"
#include "common/simd.h"

namespace edgequant::engine::onednn {
namespace {

// y[k] = table[a[k] << 8 | b[k]] for k < n; `table` has 3 readable bytes past its 65536 (a gather reads
// four bytes at each code's place).
__attribute__((target("avx512f"))) void add_by_gather(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n,
                                                       const uint8_t* table) {
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    const __m512i qa = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + k)));
    const __m512i qb = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + k)));
    const __m512i sums = _mm512_i32gather_epi32(_mm512_or_si512(_mm512_slli_epi32(qa, 8), qb), table, 1);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + k), _mm512_cvtepi32_epi8(sums));  // each sum's low byte
  }
  for (; k < n; ++k) y[k] = table[a[k] << 8 | b[k]];
}

void add_by_table(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const uint8_t* table) {
  for (int64_t k = 0; k < n; ++k) y[k] = table[a[k] << 8 | b[k]];
}

class DnnlCodeAdd : public CodeAddKernel {
 public:
  DnnlCodeAdd(const DnnlContext& ctx, const CodeAddition& p) : ctx_(ctx), p_(p) {}

  bool run(const Tensor& a, const Tensor& b, float output_scale, Tensor& dst) override {
    const auto* x = dynamic_cast<const DnnlNative*>(a.native.get());
    const auto* z = dynamic_cast<const DnnlNative*>(b.native.get());
    if (!x || !z || !x->quantized() || !z->quantized() || x->desc().get_data_type() != dt::u8 ||
        z->desc().get_data_type() != dt::u8 || x->desc() != z->desc() || a.shape != b.shape)
      return false;
    auto y = std::make_shared<DnnlNative>(ctx_, x->desc(), x->plain(), output_scale, p_.output_zero);
    const int64_t bytes = static_cast<int64_t>(x->desc().get_size());
    const auto* qa = static_cast<const uint8_t*>(x->mem().get_data_handle());
    const auto* qb = static_cast<const uint8_t*>(z->mem().get_data_handle());
    auto* out = static_cast<uint8_t*>(y->mem().get_data_handle());
    if (cpu_has_avx512f() && bytes < kTableFrom) {
      add_code_arrays(p_, qa, qb, out, bytes);
    } else {
      if (table_.empty()) table_ = addition_table(p_, 3);  // once: runs of one kernel see one shape
      if (cpu_has_avx512f()) add_by_gather(qa, qb, out, bytes, table_.data());
      else add_by_table(qa, qb, out, bytes, table_.data());
    }
    dst = native_tensor(a.shape, std::move(y));
    return true;
  }

 private:
  // Codes from which the table pays for warming it each run (the arithmetic: ~0.7 ns a code here, the
  // gather ~0.55 once the table is in the caches, ~20 µs to bring it there).
  static constexpr int64_t kTableFrom = int64_t{1} << 17;

  const DnnlContext& ctx_;
  const CodeAddition p_;
  std::vector<uint8_t> table_;
};

}  // namespace

std::unique_ptr<CodeAddKernel> make_code_add(const DnnlContext& ctx, const CodeAddition& p) {
  return std::make_unique<DnnlCodeAdd>(ctx, p);
}

}  // namespace edgequant::engine::onednn
