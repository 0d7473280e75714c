// The Winograd convolutions' activation (and its affine step) over a whole tile's lanes at once, as the
// portable transforms apply it (winograd_f43.cpp, winograd_f63.cpp): a loop long enough that GCC
// vectorises it (a 16-trip loop is unrolled to scalar code first). The ARM backend's NEON epilogue
// (arm/epilogue.h) computes the same steps, bit for bit. Compile users with -fno-math-errno
// -fno-trapping-math.
#pragma once
#include <algorithm>

#include "backend/backend.h"
#include "backend/vector_exp.h"

namespace edgequant::engine::winograd {

EDGEQUANT_INLINE void activate_lanes(float* v, int n, const Activation& act) {
  switch (act.kind) {
    case Activation::Kind::none:
      break;
    case Activation::Kind::relu:
      for (int e = 0; e < n; ++e) v[e] = v[e] > 0.f ? v[e] : (v[e] == v[e] ? 0.f : v[e]);
      break;
    case Activation::Kind::clip:
      for (int e = 0; e < n; ++e) v[e] = v[e] < act.lo ? act.lo : (v[e] > act.hi ? act.hi : v[e]);
      break;
    case Activation::Kind::swish:
      for (int e = 0; e < n; ++e) v[e] = v[e] / (1.f + exp_lane(-v[e]));
      break;
    case Activation::Kind::hardsigmoid:
      for (int e = 0; e < n; ++e) v[e] = std::min(1.f, std::max(0.f, act.alpha * v[e] + act.beta));
      break;
    case Activation::Kind::hardswish:
      for (int e = 0; e < n; ++e) v[e] = v[e] * std::min(1.f, std::max(0.f, act.alpha * v[e] + act.beta));
      break;
    case Activation::Kind::gelu:
      for (int e = 0; e < n; ++e) v[e] = gelu_lane(v[e]);
      break;
  }
  if (act.has_affine())
    for (int e = 0; e < n; ++e) {
      const float scaled = v[e] * act.scale;
      v[e] = scaled + act.shift;
    }
}

}  // namespace edgequant::engine::winograd
