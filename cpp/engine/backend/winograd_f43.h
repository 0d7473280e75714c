// Winograd F(4x4, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016)
// for float32 3x3 stride-1 convolutions in NHWC: a 6x6 input tile d and a 3x3 filter g give a 4x4
// output tile Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, 36 multiplications per output tile and channel pair
// instead of 144. The transforms live here (portable, vectorised over channels); the 36 products
// summed over input channels are 36 matrix products, [tiles, ic] x [ic, oc], left to a backend's
// matmul. Rounding differs from the direct sum by a few float32 ulp times the transform weights
// (relative error ~1e-5 on typical activations). The reference is the direct convolution.
//
// That bound holds only for inputs of a moderate range: the transforms mix a 6x6 tile's values, so
// every output of a tile carries a rounding error proportional to the tile's largest input (one
// activation of 1e6 among values ~1 put an error of 0.1 on outputs that do not depend on it), and
// they scale values by up to 100 (input) and 361 (output), so finite inputs near 1e37 overflow to
// Inf and Inf - Inf gives NaN on all of a tile's outputs. `exact_for` says, from one pass over an
// input, whether Winograd may run on it; a kernel runs the direct convolution where it may not.
#pragma once
#include <cstdint>

#include "backend/backend.h"

namespace edgequant::engine::winograd {

constexpr int kTile = 4;        // output pixels per tile side
constexpr int kPositions = 36;  // 6x6 transformed positions

// One image's tiling: tiles of `tile` x `tile` output pixels, row-major (F(6x6, 3x3), winograd_f63.h,
// tiles by 6).
struct Tiling {
  int64_t ih, iw, oh, ow, pad_top, pad_left;
  int64_t tile = kTile;
  int64_t tiles_w() const { return (ow + tile - 1) / tile; }
  int64_t tiles() const { return (oh + tile - 1) / tile * tiles_w(); }
};

// What `exact_for` needs of an input: the largest |x| as bits (its float's bit pattern without the
// sign, so that a NaN or Inf compares above every finite value), and the sum and count of the
// biased exponents of the normal values (their mean: log2 of the typical |x|, which a few outliers
// hardly move, unlike the mean |x|: one pixel of 1e7 in all 64 channels of a 21x21 image raises the
// mean |x| 30000-fold, the mean exponent by 0.05).
struct InputRange {
  uint32_t max_abs_bits = 0;
  int64_t exponent_sum = 0, normal_count = 0;
  void merge(const InputRange& other);
};

// The range of x[0, n), vectorised; callers split a large input between threads and merge.
InputRange input_range(const float* x, int64_t n);

// The weights' part of the overflow bound: max over output channels of sum over input channels of
// max over positions |U[q][ic][oc]| (inf if U is not finite); U has `positions` planes.
double weight_gain(const float* u, int64_t oc, int64_t ic, int positions = kPositions);

// Whether Winograd's error on this input is within the direct sum's: every value finite; no value
// so large that the transforms could overflow (|x| * 100 * gain * 361 < FLT_MAX / 4, 100 and 361 the
// largest gains of F(4x4, 3x3)'s input and output transforms; F(6x6, 3x3) passes its own); no value
// than 2^kOutlierBits times the typical |x| (2^mean exponent; its rounding error would spread over
// its tile: an outlier r puts ~1e-7 r on its neighbours' outputs); and not every value below 2^-64,
// where the products of transformed input and weights underflow into subnormals and lose their
// relative precision. Real activations measured 2^3 to 2^4.7 (max over typical: YOLOv8n and
// ResNet-18 on COCO images, SqueezeNet on its test image).
constexpr int kOutlierBits = 10;
constexpr double kInputGain = 100, kOutputGain = 361;  // the largest row sums of |Bᵀ| and |Aᵀ|, squared
bool exact_for(const InputRange& range, double gain, double input_gain = kInputGain,
               double output_gain = kOutputGain);

// Whether the environment allows Winograd (EDGEQUANT_WINOGRAD=0 keeps every conv direct; read
// when a kernel is built), and whether it asks for it wherever the shape allows, past the backend's
// size thresholds (EDGEQUANT_WINOGRAD=1: what the tests use to run it on small images).
bool enabled();
bool forced();

// Whether a conv has the shape F(4x4, 3x3) computes: float32, 3x3, stride 1, no dilation, one
// group, at most 2 pixels of padding before the image. Backends add their own size thresholds.
bool shape_fits(const ConvGeometry& g, const QuantConfig& q);

// U[36][ic][oc] = G g Gᵀ for every (oc, ic) filter of `w` [oc, ic, 3, 3] (computed in double).
void transform_weights(const float* w, int64_t oc, int64_t ic, float* u);

// The filters back from U: g = P U Pᵀ with P = (GᵀG)⁻¹ Gᵀ, G's left inverse (in double). Within an
// ulp of the filter's largest weight (78 % of random weights come back bit-exact): a
// kernel keeps U only, and rebuilds the direct conv from it the first time an input needs it.
void restore_weights(const float* u, int64_t oc, int64_t ic, float* w);

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
