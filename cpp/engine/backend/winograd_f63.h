// Winograd F(6x6, 3x3) (Lavin & Gray 2016; the interpolation points 0, ±1, ±2, ±1/2, ∞) for float32
// 3x3 stride-1 convolutions in NHWC: an 8x8 input tile d and a 3x3 filter g give a 6x6 output tile
// Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, 64 multiplications per output tile and channel pair (1.78 an output
// against F(4x4, 3x3)'s 2.25 and the direct 9). The portable transforms here are the reference the
// ARM backend's NEON ones equal bit for bit (arm/f32_winograd_transforms.cpp): the same steps, the
// same fused multiply-adds (std::fma here, FMLA / FMLS there). They are plain loops, for tests.
//
// The larger transform weights (|Bᵀ| rows up to 15 against 10, |Aᵀ| up to 67 against 19) cost
// accuracy: relative error ~1.5e-5 against F(4x4, 3x3)'s ~5e-6 over 64 input channels of typical
// activations, the direct sum's ~1e-6. The same guard applies (winograd_f43.h exact_for, with this
// variant's gains): an input outside its range runs the direct convolution.
#pragma once
#include <cstdint>

#include "backend/backend.h"
#include "backend/winograd_f43.h"

namespace edgequant::engine::winograd::f63 {

constexpr int kTile = 6;        // output pixels per tile side
constexpr int kSide = 8;        // input pixels per tile side
constexpr int kPositions = 64;  // 8x8 transformed positions
constexpr double kInputGain = 225, kOutputGain = 4497.379;  // winograd_f43.h exact_for's gains: row sums squared

// The tiling of an image by this variant's 6x6 tiles.
Tiling tiling(int64_t ih, int64_t iw, int64_t oh, int64_t ow, int64_t pad_top, int64_t pad_left);

// Whether F(6x6, 3x3) multiplies less than F(4x4, 3x3) on an oh x ow output: 64 products per 6x6
// tile against 36 per 4x4, tiles cut at the edge counted whole (56x56: 6,400 against 7,056; 14x14:
// 576 each, kept on F(4x4, 3x3); 7x7: 256 against 144).
bool fewer_products(int64_t oh, int64_t ow);

// U[64][ic][oc] = G g Gᵀ for every (oc, ic) filter of `w` [oc, ic, 3, 3] (computed in double).
void transform_weights(const float* w, int64_t oc, int64_t ic, float* u);

// V[64][block][ic] = Bᵀ d B for tiles [first, first + count) of one NHWC image x [ih, iw, ic] (zero
// outside the image); rows count..block-1 of V are left alone. `t` is a tiling().
void transform_input(const float* x, int64_t ic, const Tiling& t, int64_t first, int64_t count, int64_t block,
                     float* v);

// y = act(Aᵀ M A + bias) for the same tiles of M[64][block][oc], into the NHWC image y [oh, ow, oc], as
// winograd::transform_output (post.sum adds the residual y holds on entry). `bias` may be null.
void transform_output(const float* m, int64_t oc, const Tiling& t, int64_t first, int64_t count, int64_t block,
                      const float* bias, const ConvPostOps& post, float* y);

}  // namespace edgequant::engine::winograd::f63
