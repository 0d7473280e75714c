// Winograd F(4x4, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016)
// for float32 3x3 stride-1 convolutions in NHWC: a 6x6 input tile d and a 3x3 filter g give a 4x4
// output tile Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, 36 multiplications per output tile and channel pair
// instead of 144. The transforms live here (portable, vectorised over channels); the 36 products
// summed over input channels are 36 matrix products, [tiles, ic] x [ic, oc], left to a backend's
// matmul. Rounding differs from the direct sum by a few float32 ulp times the transform weights
// (relative error ~1e-5 on typical activations). The reference is the direct convolution.
#pragma once
#include <cstdint>

#include "backend/backend.h"

namespace edgequant::engine::winograd {

constexpr int kTile = 4;        // output pixels per tile side
constexpr int kPositions = 36;  // 6x6 transformed positions

// One image's tiling: tiles of kTile x kTile output pixels, row-major.
struct Tiling {
  int64_t ih, iw, oh, ow, pad_top, pad_left;
  int64_t tiles_w() const { return (ow + kTile - 1) / kTile; }
  int64_t tiles() const { return (oh + kTile - 1) / kTile * tiles_w(); }
};

// U[36][ic][oc] = G g Gᵀ for every (oc, ic) filter of `w` [oc, ic, 3, 3] (computed in double).
void transform_weights(const float* w, int64_t oc, int64_t ic, float* u);

// V[36][block][ic] = Bᵀ d B for tiles [first, first + count) of one NHWC image x [ih, iw, ic] (zero
// outside the image); rows count..block-1 of V are left alone.
void transform_input(const float* x, int64_t ic, const Tiling& t, int64_t first, int64_t count, int64_t block,
                     float* v);

// y = act(Aᵀ M A + bias) for the same tiles of M[36][block][oc], into the NHWC image y [oh, ow, oc]
// (pixels past the image's edge dropped); with post.sum, y = after_sum(act(...) + y), y holding the
// residual on entry. `bias` may be null.
void transform_output(const float* m, int64_t oc, const Tiling& t, int64_t first, int64_t count, int64_t block,
                      const float* bias, const ConvPostOps& post, float* y);

}  // namespace edgequant::engine::winograd
