// Vectorised float32 kernels (the Backend kernels of portable_kernels.h): plain loops that GCC
// vectorises inside per-ISA clones (common/simd.h). Their references are the generic ops of ops/
// (softmax.cpp, unary.cpp, conv.cpp on the reference backend), which the tests compare them with.
// Single-threaded: each is one memory-bound pass or two over at most a few MB.
#pragma once
#include <cstdint>

namespace edgequant::engine {

// e^x in float32 with a degree-6 polynomial after range reduction (a few ulp where e^x is a
// normal float; subnormal results to within their spacing). Overflows to +inf above ~88.72 as
// expf does; e^NaN = NaN, e^-inf = 0, e^+inf = +inf.
float fast_exp(float x);

// Softmax (or LogSoftmax) along axis 1 of a plain row-major [outer, len, inner] tensor:
// y = e^(x - max) / sum e^(x - max), the max and the sum taken over `len` for each (outer, inner).
// Any axis of any tensor is this view. A column holding NaN or +inf, or only -inf, comes out all
// NaN (as the formula in IEEE arithmetic gives, and ONNX Runtime). `src` and `dst` may not overlap.
void softmax_f32(const float* src, float* dst, int64_t outer, int64_t len, int64_t inner, bool log);

// y = 1 / (1 + e^-x) elementwise (NaN stays NaN, ±inf give 1 / 0).
void sigmoid_f32(const float* src, float* dst, int64_t count);

// Whether x[0, n) holds no NaN and no ±inf: one pass (an unsigned max of the bits past the sign), what
// the engine checks every float input with.
bool all_finite(const float* x, int64_t n);

// A 1x1 convolution to a single channel: dst[n, p] = bias + sum_c weights[c] * src[n, c, p] over a
// plain [batch, channels, pixels] tensor (YOLOv8's DFL expectation over its 16 bins).
void channel_sum_f32(const float* src, float* dst, int64_t batch, int64_t channels, int64_t pixels,
                     const float* weights, float bias);

}  // namespace edgequant::engine
