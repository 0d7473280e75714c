// The ARM backend's FP32 3x3 stride-1 convolutions by Winograd: F(6x6, 3x3) where it multiplies less
// than F(4x4, 3x3) (winograd::f63::fewer_products: sizes its 6x6 tiles cut well, 56x56, 28x28, 40x40,
// 12x12; not 14x14, 20x20 or 7x7), F(4x4, 3x3) elsewhere. The transforms (backend/winograd_f43.h, winograd_f63.h; on NEON,
// f32_winograd_transforms.h) around one product [tiles, ic] x [ic, oc] per transformed position on the
// NEON GEMM (f32_gemm.h): 36 multiplications per 4x4 output tile and channel pair, or 64 per 6x6, instead
// of 144 or 324. Blocks of tiles, one per thread at a time, keep V and M in cache. Inputs whose range
// makes Winograd inexact (non-finite values, an outlier, values that could overflow the transforms:
// winograd::exact_for) run the direct kernel instead, as on x86 (onednn/winograd_conv.cpp says why per
// conv and not per tile). Accuracy: a few float32 ulp times the transform weights (relative ~5e-6 for
// F(4x4, 3x3), ~1.5e-5 for F(6x6, 3x3) on typical activations over 64 channels).
#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "backend/arm/arm_kernels.h"
#include "backend/arm/f32_gemm.h"
#include "backend/arm/f32_winograd_transforms.h"
#include "backend/arm/layout.h"
#include "backend/arm/nhwc_float.h"
#include "backend/arm/scratch.h"
#include "backend/winograd_f43.h"
#include "backend/winograd_f63.h"

namespace edgequant::engine::arm {
namespace {

// The two variants: positions, tiling, weight transform, NEON transforms and the gains exact_for bounds.
// kBlock: tiles per block, so that V and M of a block (positions x block x 64 floats each) stay in L2.
struct F43 {
  static constexpr int kPositions = winograd::kPositions;
  static constexpr int64_t kBlock = 32;
  static constexpr double kInputGain = winograd::kInputGain, kOutputGain = winograd::kOutputGain;
  static winograd::Tiling tiling(const ConvGeometry& g) { return {g.ih, g.iw, g.oh, g.ow, g.pad_top, g.pad_left}; }
  static void transform_weights(const float* w, int64_t oc, int64_t ic, float* u) {
    winograd::transform_weights(w, oc, ic, u);
  }
  static constexpr auto input = winograd_input_neon;
  static constexpr auto output = winograd_output_neon;
};
struct F63 {
  static constexpr int kPositions = winograd::f63::kPositions;
  static constexpr int64_t kBlock = 16;
  static constexpr double kInputGain = winograd::f63::kInputGain, kOutputGain = winograd::f63::kOutputGain;
  static winograd::Tiling tiling(const ConvGeometry& g) {
    return winograd::f63::tiling(g.ih, g.iw, g.oh, g.ow, g.pad_top, g.pad_left);
  }
  static void transform_weights(const float* w, int64_t oc, int64_t ic, float* u) {
    winograd::f63::transform_weights(w, oc, ic, u);
  }
  static constexpr auto input = winograd63_input_neon;
  static constexpr auto output = winograd63_output_neon;
};

template <class V>
class ArmWinogradConv : public ConvKernel {
 public:
  ArmWinogradConv(const ConvGeometry& g, const float* w, const float* b, const ConvPostOps& post, ThreadCount threads)
      : g_(g), post_(post), threads_(threads), tiling_(V::tiling(g)),
        block_(std::min(V::kBlock, tiling_.tiles())), direct_(make_f32_conv(g, w, b, post, threads)) {
    std::vector<float> u(static_cast<size_t>(V::kPositions * g.ic * g.oc));
    V::transform_weights(w, g.oc, g.ic, u.data());
    gain_ = winograd::weight_gain(u.data(), g.oc, g.ic, V::kPositions);
    bias_.assign(static_cast<size_t>(g.oc), 0.f);
    if (b) std::copy(b, b + g.oc, bias_.begin());
    if (!std::isfinite(gain_)) return;  // the transformed weights overflow: every run direct
    std::vector<float> uq(static_cast<size_t>(g.oc * g.ic));  // U[q] as [oc][ic], the GEMM's B
    for (int q = 0; q < V::kPositions; ++q) {
      const float* plane = u.data() + q * g.ic * g.oc;
      for (int64_t i = 0; i < g.ic; ++i)
        for (int64_t o = 0; o < g.oc; ++o) uq[o * g.ic + i] = plane[i * g.oc + o];
      u_.push_back(pack_f32(uq.data(), g.oc, g.ic));
    }
  }

  // NCHW in and out (a sum adds what dst holds on entry): staged through NHWC.
  void run(const float* src, float* dst) override {
    const int64_t numel = g_.n * g_.ic * g_.ih * g_.iw, m = g_.oh * g_.ow;
    if (!use_winograd(src, numel)) return direct_->run(src, dst);
    Scratch<float> x(numel), y(g_.n * m * g_.oc);
    to_nhwc(src, g_.n, g_.ic, g_.ih * g_.iw, x.data());
    if (post_.sum) to_nhwc(dst, g_.n, g_.oc, m, y.data());  // the residual, where the output transform adds it
    run_nhwc(x.data(), y.data());
    to_nchw(y.data(), g_.n, g_.oc, m, dst);
  }

  // As the direct kernel's: NhwcFloat or plain in, NhwcFloat out.
  void run(const Tensor& src, const Tensor* residual, bool free, Tensor& dst, const Shape& shape) override {
    Scratch<float> staged;
    const NhwcFloat* nhwc = nhwc_float(src);
    const float* plain = nhwc ? nullptr : src.f();
    if (!use_winograd(nhwc ? nhwc->data() : plain, src.numel())) return direct_->run(src, residual, free, dst, shape);
    const float* x = nhwc ? nhwc->data() : nhwc_values(src, staged);
    auto out = std::make_shared<NhwcFloat>(shape);
    if (post_.sum) {  // the residual in the output, where the output transform adds it
      Scratch<float> staged_residual;
      const float* r = nhwc_values(*residual, staged_residual);
      std::copy(r, r + residual->numel(), out->data());
    }
    run_nhwc(x, out->data());
    dst = nhwc_tensor(shape, std::move(out));
  }

 private:
  // Whether this run may take Winograd: weights that transform finitely and an input it is exact
  // on (any order of the values will do).
  bool use_winograd(const float* x, int64_t numel) {
    if (u_.empty() ||
        !winograd::exact_for(input_range_neon(x, numel), gain_, V::kInputGain, V::kOutputGain))
      return false;
    note_winograd_run(tiling_.tile);
    return true;
  }

  // NHWC x to NHWC y (holding the residual on entry where post.sum): blocks of tiles over the threads.
  void run_nhwc(const float* x, float* y) {
    const int64_t hw = g_.ih * g_.iw, m = g_.oh * g_.ow;
    const int64_t tiles = tiling_.tiles(), per_image = (tiles + block_ - 1) / block_;
    // Channels in fours: the input transform writes V as the GEMM packs its rows (f32_gemm_packed),
    // which saves the GEMM that pass (~1.3 instructions a value, 4 % of a 64-channel conv at 56x56).
    const bool packed = g_.ic % 4 == 0;
    const int64_t plane_rows = (block_ + 7) / 8 * 8;  // V's rows per position: whole 8-row blocks
    parallel_chunks(threads_, g_.n * per_image, 1, [&](int64_t b0, int64_t b1) {
      Scratch<float> v(V::kPositions * plane_rows * g_.ic), products(V::kPositions * block_ * g_.oc);
      std::vector<const float*> rows(static_cast<size_t>(block_));
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t image = b / per_image, first = b % per_image * block_, count = std::min(block_, tiles - first);
        V::input(x + image * hw * g_.ic, g_.ic, tiling_, first, count, plane_rows, v.data(), packed);
        for (int q = 0; q < V::kPositions; ++q) {
          const float* plane = v.data() + q * plane_rows * g_.ic;
          float* c = products.data() + q * block_ * g_.oc;
          if (packed) {
            f32_gemm_packed(plane, count, u_[q], c, g_.oc);
            continue;
          }
          for (int64_t k = 0; k < count; ++k) rows[k] = plane + k * g_.ic;
          f32_gemm(rows.data(), count, u_[q], c, g_.oc);
        }
        V::output(products.data(), g_.oc, tiling_, first, count, block_, bias_.data(), post_, y + image * m * g_.oc);
      }
    });
  }

  ConvGeometry g_;
  ConvPostOps post_;
  ThreadCount threads_;
  winograd::Tiling tiling_;
  int64_t block_;
  std::unique_ptr<ConvKernel> direct_;  // for the inputs Winograd is not exact on
  std::vector<PackedF32> u_;            // per position, the transformed weights packed for f32_gemm
  std::vector<float> bias_;
  double gain_ = 0;  // winograd::weight_gain of U
};

}  // namespace

bool winograd_fits_arm(const ConvGeometry& g, const QuantConfig& q) {
  return winograd::enabled() && winograd::shape_fits(g, q) && g.ic >= 8 && g.oc >= 8 && g.oh >= 4 && g.ow >= 4;
}

std::unique_ptr<ConvKernel> make_f32_winograd_conv(const ConvGeometry& g, const float* w, const float* b,
                                                   const ConvPostOps& post, ThreadCount threads) {
  if (winograd::f63::fewer_products(g.oh, g.ow)) return std::make_unique<ArmWinogradConv<F63>>(g, w, b, post, threads);
  return std::make_unique<ArmWinogradConv<F43>>(g, w, b, post, threads);
}

}  // namespace edgequant::engine::arm
