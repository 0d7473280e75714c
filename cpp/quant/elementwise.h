// The driver shared by every elementwise quantizer. A quantizer family is a small struct ("op")
// with four scalar member functions:
//     int32_t encode(T x)            branch-free, vectorisable form of the formula
//     int32_t encode_reference(T x)  the formula written plainly; the tests' yardstick
//     float   decode(int32_t q)      reconstruction (float32, see convention.h)
//     bool    valid(int32_t q)       q is in the family's alphabet
// EDGEQUANT_DEFINE_CHUNK_KERNELS(Op) stamps out per-ISA chunk kernels for it; encode(),
// decode() and quantize() below split the work across cores and count bad elements.
#pragma once
#include <atomic>
#include <cstdint>

#include "common/parallel.h"
#include "common/simd.h"
#include "quant/convention.h"

namespace edgequant::quant {

// When set, every elementwise call runs the scalar reference formula on one thread.
bool force_reference();
void set_force_reference(bool on);

// The loops copy the op into a local and take __restrict pointers: otherwise stores to dst may
// alias the op's fields, the compiler reloads them every iteration and gives up vectorising.
template <class Op, class T>
EDGEQUANT_INLINE int64_t encode_loop(const Op& shared_op, const T* __restrict src, int64_t n, int32_t* __restrict dst) {
  const Op op = shared_op;
  int64_t non_finite = 0;
  for (int64_t i = 0; i < n; ++i) {
    non_finite += !is_finite(src[i]);
    dst[i] = op.encode(src[i]);
  }
  return non_finite;
}

template <class Op, class T>
EDGEQUANT_INLINE int64_t quantize_loop(const Op& shared_op, const T* src, int64_t n, float* dst) {
  const Op op = shared_op;  // src may equal dst (in-place q(x, out=x)): no __restrict here
  int64_t non_finite = 0;
  for (int64_t i = 0; i < n; ++i) {
    non_finite += !is_finite(src[i]);
    dst[i] = op.decode(op.encode(src[i]));
  }
  return non_finite;
}

template <class Op>
EDGEQUANT_INLINE int64_t decode_loop(const Op& shared_op, const int32_t* __restrict src, int64_t n, float* __restrict dst) {
  const Op op = shared_op;
  int64_t invalid = 0;
  for (int64_t i = 0; i < n; ++i) {
    invalid += !op.valid(src[i]);
    dst[i] = op.decode(src[i]);
  }
  return invalid;
}

#define EDGEQUANT_DECLARE_CHUNK_KERNELS(Op)                                      \
  int64_t encode_chunk(const Op& op, const float* src, int64_t n, int32_t* dst);  \
  int64_t encode_chunk(const Op& op, const double* src, int64_t n, int32_t* dst); \
  int64_t quantize_chunk(const Op& op, const float* src, int64_t n, float* dst);  \
  int64_t quantize_chunk(const Op& op, const double* src, int64_t n, float* dst); \
  int64_t decode_chunk(const Op& op, const int32_t* src, int64_t n, float* dst);

#define EDGEQUANT_DEFINE_CHUNK_KERNELS(Op)                                                         \
  EDGEQUANT_KERNEL int64_t encode_chunk(const Op& op, const float* src, int64_t n, int32_t* dst) {  \
    return encode_loop(op, src, n, dst);                                                           \
  }                                                                                                \
  EDGEQUANT_KERNEL int64_t encode_chunk(const Op& op, const double* src, int64_t n, int32_t* dst) { \
    return encode_loop(op, src, n, dst);                                                           \
  }                                                                                                \
  EDGEQUANT_KERNEL int64_t quantize_chunk(const Op& op, const float* src, int64_t n, float* dst) {  \
    return quantize_loop(op, src, n, dst);                                                         \
  }                                                                                                \
  EDGEQUANT_KERNEL int64_t quantize_chunk(const Op& op, const double* src, int64_t n, float* dst) { \
    return quantize_loop(op, src, n, dst);                                                         \
  }                                                                                                \
  EDGEQUANT_KERNEL int64_t decode_chunk(const Op& op, const int32_t* src, int64_t n, float* dst) {  \
    return decode_loop(op, src, n, dst);                                                           \
  }

// Scalar reference loops: the formula, one element at a time, one thread.
template <class Op, class T>
int64_t encode_reference(const Op& op, const T* src, int64_t n, int32_t* dst) {
  int64_t non_finite = 0;
  for (int64_t i = 0; i < n; ++i) {
    non_finite += !std::isfinite(static_cast<double>(src[i]));
    dst[i] = op.encode_reference(src[i]);
  }
  return non_finite;
}

template <class Op, class T>
int64_t quantize_reference(const Op& op, const T* src, int64_t n, float* dst) {
  int64_t non_finite = 0;
  for (int64_t i = 0; i < n; ++i) {
    non_finite += !std::isfinite(static_cast<double>(src[i]));
    dst[i] = op.decode(op.encode_reference(src[i]));
  }
  return non_finite;
}

// Parallel entry points. Each returns the number of bad elements: non-finite inputs for
// encode/quantize, symbols outside the alphabet for decode (their outputs are unspecified).
template <class Op, class T>
int64_t encode(const Op& op, const T* src, int64_t n, int32_t* dst) {
  if (force_reference()) return encode_reference(op, src, n, dst);
  std::atomic<int64_t> bad{0};
  parallel_for(n, [&](int64_t begin, int64_t end) { bad += encode_chunk(op, src + begin, end - begin, dst + begin); });
  return bad.load();
}

template <class Op, class T>
int64_t quantize(const Op& op, const T* src, int64_t n, float* dst) {
  if (force_reference()) return quantize_reference(op, src, n, dst);
  std::atomic<int64_t> bad{0};
  parallel_for(n, [&](int64_t begin, int64_t end) { bad += quantize_chunk(op, src + begin, end - begin, dst + begin); });
  return bad.load();
}

template <class Op>
int64_t decode(const Op& op, const int32_t* src, int64_t n, float* dst) {
  std::atomic<int64_t> bad{0};
  parallel_for(n, [&](int64_t begin, int64_t end) { bad += decode_chunk(op, src + begin, end - begin, dst + begin); });
  return bad.load();
}

}  // namespace edgequant::quant
