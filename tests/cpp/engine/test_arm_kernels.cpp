// The ARM backend's own kernels against the reference backend, on both INT8 dispatch paths
// (SDOT where the CPU has it, plain NEON always): random geometries with odd channel counts,
// sizes below / at / above the vector widths, pads, strides, dilations, groups, depthwise,
// saturating inputs and zero points 0 / 128 / 255. INT8 must be bit-identical; FP32 within a
// stated tolerance. Each check also proves which INT8 kernel ran. aarch64 builds only.
#if defined(__aarch64__)
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "backend/arm/arm_kernels.h"
#include "backend/arm/dispatch.h"
#include "backend/arm/epilogue.h"
#include "backend/arm/f32_gemm.h"
#include "backend/arm/f32_winograd_transforms.h"
#include "backend/arm/nhwc_codes.h"
#include "backend/arm/nhwc_float.h"
#include "backend/arm/scratch.h"
#include "backend/fixed_point_requantization.h"
#include "backend/portable_kernels.h"
#include "backend/registry.h"
#include "ops/grid_codes.h"

namespace edgequant::engine {
namespace {

// The INT8 paths this CPU can run, by registration (dispatch.h int8_gemms): "neon" always,
// "asimddp" with the dot product, "i8mm" with the int8 matrix multiply.
std::vector<std::string> int8_paths() {
  std::vector<std::string> paths;
  for (const arm::Int8Gemm* gemm : arm::int8_gemms()) paths.push_back(gemm->name);
  return paths;
}

// Selects `path` for kernels built from now on; restores the automatic choice on destruction.
struct UsePath {
  explicit UsePath(const std::string& path) : name(path) { arm::set_arm_int8_gemm(name.c_str()); }
  ~UsePath() { arm::set_arm_int8_gemm(nullptr); }
  std::string name;
};

std::vector<float> uniform(std::mt19937& rng, int64_t n, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = d(rng);
  return v;
}

int64_t pick(std::mt19937& rng, std::vector<int64_t> options) {
  return options[std::uniform_int_distribution<size_t>(0, options.size() - 1)(rng)];
}

// A random valid geometry; `kind` 0: any groups, 1: depthwise, 2: pointwise (the in-place rows).
ConvGeometry random_geometry(std::mt19937& rng, int kind) {
  for (;;) {
    ConvGeometry g{};
    g.n = pick(rng, {1, 1, 2});
    g.ic = pick(rng, {1, 3, 4, 7, 8, 15, 16, 17, 33, 64});
    g.oc = pick(rng, {1, 3, 5, 8, 9, 16, 17, 24});
    g.kh = pick(rng, {1, 3, 5}), g.kw = pick(rng, {1, 3});
    g.stride_h = pick(rng, {1, 2}), g.stride_w = pick(rng, {1, 2, 3});
    g.dilation_h = pick(rng, {1, 2}), g.dilation_w = pick(rng, {1, 1, 2});
    g.pad_top = pick(rng, {0, 1, 2}), g.pad_left = pick(rng, {0, 1}), g.pad_bottom = pick(rng, {0, 1}),
    g.pad_right = pick(rng, {0, 2});
    g.ih = pick(rng, {1, 2, 5, 8, 9, 13}), g.iw = pick(rng, {1, 3, 4, 7, 16, 17});
    g.groups = pick(rng, {1, 1, 2, 3});
    if (kind == 1) g.groups = g.oc = g.ic = pick(rng, {1, 3, 7, 8, 9, 16, 24, 37});
    if (kind == 2) {
      g.kh = g.kw = g.stride_h = g.stride_w = g.dilation_h = g.dilation_w = g.groups = 1;
      g.pad_top = g.pad_left = g.pad_bottom = g.pad_right = 0;
    }
    if (g.ic % g.groups || g.oc % g.groups) continue;
    const int64_t eh = g.ih + g.pad_top + g.pad_bottom - g.dilation_h * (g.kh - 1) - 1;
    const int64_t ew = g.iw + g.pad_left + g.pad_right - g.dilation_w * (g.kw - 1) - 1;
    if (eh < 0 || ew < 0) continue;
    g.oh = eh / g.stride_h + 1, g.ow = ew / g.stride_w + 1;
    return g;
  }
}

std::string describe(const ConvGeometry& g) {
  char s[256];
  std::snprintf(s, sizeof s, "n%lld ic%lld %lldx%lld oc%lld k%lldx%lld s%lld,%lld d%lld,%lld p%lld,%lld,%lld,%lld g%lld",
                (long long)g.n, (long long)g.ic, (long long)g.ih, (long long)g.iw, (long long)g.oc, (long long)g.kh,
                (long long)g.kw, (long long)g.stride_h, (long long)g.stride_w, (long long)g.dilation_h,
                (long long)g.dilation_w, (long long)g.pad_top, (long long)g.pad_left, (long long)g.pad_bottom,
                (long long)g.pad_right, (long long)g.groups);
  return s;
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Tensor plain_tensor(const Shape& shape, const std::vector<float>& values) {
  Tensor t = Tensor::zeros_f32(shape);
  std::copy(values.begin(), values.end(), t.f());
  return t;
}

// The same values as the ARM backend's NHWC form (arm::NhwcFloat).
Tensor as_nhwc(const Tensor& plain) {
  auto data = std::make_shared<arm::NhwcFloat>(plain.shape);
  const int64_t n = plain.shape[0], c = plain.shape[1], hw = plain.numel() / (n * c);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p = 0; p < hw; ++p) data->data()[(i * hw + p) * c + ch] = plain.f()[(i * c + ch) * hw + p];
  return arm::nhwc_tensor(plain.shape, std::move(data));
}

// Bit-for-bit equality, naming the first differing element.
::testing::AssertionResult same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0)
      return ::testing::AssertionFailure() << "element " << i << ": " << a[i] << " vs reference " << b[i];
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult close(const std::vector<float>& a, const std::vector<float>& b, double tol) {
  double scale = 1;
  for (float v : b) scale = std::max(scale, double(std::fabs(v)));
  for (size_t i = 0; i < a.size(); ++i)
    if (!(std::fabs(double(a[i]) - b[i]) <= tol * scale))
      return ::testing::AssertionFailure() << "element " << i << ": " << a[i] << " vs reference " << b[i];
  return ::testing::AssertionSuccess();
}

struct Int8Case {
  QuantConfig q;
  ConvPostOps post;
};

// Static (zero points 0 / 128 / 255 / random, scales that saturate) or dynamic; post-ops with and
// without a residual (and a u8-rounded one).
Int8Case random_int8_case(std::mt19937& rng, int i) {
  Int8Case c;
  c.q.mode = i % 3 == 2 ? QuantConfig::Mode::int8_dynamic : QuantConfig::Mode::int8_static;
  c.q.zero_point = static_cast<int32_t>(pick(rng, {0, 128, 255, 37}));
  c.q.scale = std::uniform_real_distribution<float>(0.002f, 0.02f)(rng);  // inputs in ±1: some saturate
  c.post.activation.kind = static_cast<Activation::Kind>(pick(rng, {0, 1, 2, 3, 4, 5}));
  c.post.activation.lo = -0.5f, c.post.activation.hi = 0.7f;
  c.post.activation.alpha = 2.f, c.post.activation.beta = 0.5f;  // hardsigmoid's bends at ±0.25
  if (c.post.activation.kind != Activation::Kind::none && i % 3 == 1)  // a Mul / Add folded after it
    c.post.activation.scale = -0.75f, c.post.activation.shift = 0.125f;
  c.post.sum = i % 4 == 1;
  c.post.after_sum.kind = c.post.sum && i % 8 == 1 ? Activation::Kind::relu : Activation::Kind::none;
  if (c.post.sum && c.q.mode == QuantConfig::Mode::int8_static && i % 8 == 5) {
    c.q.quantize_output = true;
    c.q.residual_scale = 0.01f, c.q.residual_zero_point = 100;
  }
  return c;
}

// `threads` > 1 splits the ARM kernels' rows / channels over threads: the same bits.
std::vector<float> run_conv(const std::string& backend, const ConvGeometry& g, const std::vector<float>& w,
                            const std::vector<float>& b, const Int8Case& c, const std::vector<float>& x,
                            const std::vector<float>& residual, int threads = 1) {
  std::vector<float> y = residual;
  auto be = make_backend(backend);
  be->set_threads(threads);
  be->conv(g, w.data(), b.data(), c.post, c.q)->run(x.data(), y.data());
  return y;
}

TEST(ArmInt8, ConvolutionsAreBitIdenticalToTheReferenceOnEveryPath) {
  for (const std::string& path : int8_paths()) {
    UsePath use(path);
    std::mt19937 rng(20);
    for (int i = 0; i < 90; ++i) {
      const ConvGeometry g = random_geometry(rng, i % 3);
      const Int8Case c = random_int8_case(rng, i);
      const auto w = uniform(rng, g.oc * g.ic / g.groups * g.kh * g.kw, -1, 1);
      const auto b = uniform(rng, g.oc, -0.5f, 0.5f);
      const auto x = uniform(rng, g.n * g.ic * g.ih * g.iw, -1, 1);
      const auto r = uniform(rng, g.n * g.oc * g.oh * g.ow, -1, 1);
      const int64_t runs = arm_int8_kernel_runs(path.c_str());
      const auto ours = run_conv("arm", g, w, b, c, x, r, 1 + i % 3);
      const bool depthwise = g.groups > 1 && g.groups == g.ic && g.oc == g.ic;
      if (!depthwise) {  // the depthwise loop uses no GEMM
        EXPECT_EQ(std::string(arm_int8_kernel_name()), path);
        EXPECT_GT(arm_int8_kernel_runs(path.c_str()), runs);
      }
      EXPECT_TRUE(same_bits(ours, run_conv("reference", g, w, b, c, x, r))) << path << " case " << i << ": "
                                                                            << describe(g);
    }
  }
}

// Static INT8 case i of geometry g on the current path: NHWC codes in (as an earlier ARM conv
// leaves them: the rows the GEMM reads in place), codes out by TFLite's integer requantization or
// (every third case) float out through the int32 sums, zero point 128 or 37, against the reference.
::testing::AssertionResult codes_conv_matches_reference(const ConvGeometry& g, size_t i, std::mt19937& rng) {
  QuantConfig q;
  q.mode = QuantConfig::Mode::int8_static;
  q.scale = 0.01f, q.zero_point = i % 2 ? 37 : 128;
  q.quantize_output = i % 3 != 2;
  q.output_scale = 0.02f, q.output_zero_point = 100;
  const auto w = uniform(rng, g.oc * g.ic / g.groups * g.kh * g.kw, -1, 1);
  const auto b = uniform(rng, g.oc, -0.5f, 0.5f);
  q.weights = std::make_shared<QuantizedWeights>(quantize_weights(w.data(), g.oc, g.ic / g.groups * g.kh * g.kw));
  if (q.quantize_output) {  // TFLite's integer requantization (float out: dequantized sums)
    q.fixed_point = prepare_fixed_point(q, q.weights->scales, b.data(), ConvPostOps{});
    if (!q.fixed_point) return ::testing::AssertionFailure() << "no fixed-point requantization";
  }
  const Shape in_shape{g.n, g.ic, g.ih, g.iw};
  auto codes = std::make_shared<arm::NhwcCodes>(in_shape, q.scale, q.zero_point);
  for (int64_t k = 0; k < shape_numel(in_shape); ++k)
    codes->data()[k] = static_cast<int8_t>(std::uniform_int_distribution<int>(-128, 127)(rng));
  const Tensor x = arm::codes_tensor(in_shape, codes);
  Tensor plain = Tensor::quantized(DType::u8, in_shape, QuantParams::per_tensor(q.scale, q.zero_point));
  if (!codes->to_plain_codes(plain.u8())) return ::testing::AssertionFailure() << "no plain codes";
  const Shape out{g.n, g.oc, g.oh, g.ow};
  auto arm_backend = make_backend("arm"), reference = make_backend("reference");
  Tensor ours, ref;
  arm_backend->conv(g, w.data(), b.data(), ConvPostOps{}, q)->run(x, nullptr, false, ours, out);
  reference->conv(g, w.data(), b.data(), ConvPostOps{}, q)->run(plain, nullptr, false, ref, out);
  return same_bits(ours.as_f32(), ref.as_f32()) << " case " << i << ": " << describe(g);
}

ConvGeometry square_geometry(int64_t ic, int64_t hw, int64_t oc, int64_t k, int64_t stride, int64_t pad,
                             int64_t dilation, int64_t groups) {
  ConvGeometry g{1, ic, hw, hw + 1, oc, 0, 0, k, k, stride, stride, pad, pad, pad, pad, dilation, dilation, groups};
  g.oh = (g.ih + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
  g.ow = (g.iw + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
  return g;
}

// The GEMM reads a window's kernel taps where they lie (Int8Taps) when a group's channels are whole
// SIMD steps: ResNet-style 3x3 convs padded (a frame of the zero point's code) and not, strided,
// dilated, grouped, with 1..3 panels of output channels (one panel reads A in place, more pack it);
// pointwise layers whose channels are not a multiple of 16 read their rows in place up to the next
// step (into the next pixel or the codes' slack). Static INT8 codes in, codes out, and float out.
TEST(ArmInt8, WindowsReadInPlaceAreBitIdenticalToTheReference) {
  const std::vector<ConvGeometry> cases = {
      square_geometry(16, 9, 16, 3, 1, 1, 1, 1),  square_geometry(16, 9, 8, 3, 1, 1, 1, 1),
      square_geometry(32, 8, 24, 3, 2, 1, 1, 1),  square_geometry(16, 7, 17, 3, 1, 0, 1, 1),
      square_geometry(16, 10, 16, 3, 1, 2, 2, 1), square_geometry(32, 6, 16, 3, 1, 1, 1, 2),
      square_geometry(48, 5, 6, 5, 1, 2, 1, 3),   square_geometry(8, 9, 16, 1, 1, 0, 1, 1),
      square_geometry(3, 11, 9, 1, 1, 0, 1, 1),   square_geometry(17, 6, 16, 1, 1, 0, 1, 1),
  };
  std::mt19937 rng(47);
  for (const std::string& path : int8_paths()) {
    UsePath use(path);
    for (size_t i = 0; i < cases.size(); ++i) {
      const int64_t runs = arm_int8_kernel_runs(path.c_str());
      EXPECT_TRUE(codes_conv_matches_reference(cases[i], i, rng)) << path;
      EXPECT_GT(arm_int8_kernel_runs(path.c_str()), runs) << path << " case " << i;
    }
  }
}

// Few input channels: the dot-product GEMM reads each window's kernel rows (kw·ic ≤ 16 values)
// in place as short taps, the last group of 4 reaching into the next pixel or the slack, where
// zero weights meet it: RGB first convs (3x3 stride 2 padded on one side as TensorFlow's SAME pads,
// 3x3 stride 1, 5x5 over 2 channels, dilated rows), 4x4 over 4 channels (16 values), pointwise
// layers of 3, 8 and 12 channels; 8, 16 and 17 output channels (a partial panel), edge tiles.
TEST(ArmInt8, ShortTapsAreBitIdenticalToTheReference) {
  std::vector<ConvGeometry> cases = {
      square_geometry(3, 12, 8, 3, 2, 0, 1, 1), square_geometry(3, 9, 16, 3, 1, 1, 1, 1),
      square_geometry(2, 8, 17, 5, 1, 2, 1, 1), square_geometry(3, 10, 8, 3, 1, 1, 2, 1),
      square_geometry(4, 7, 9, 4, 1, 1, 1, 1),  square_geometry(3, 11, 16, 1, 1, 0, 1, 1),
      square_geometry(8, 9, 16, 1, 1, 0, 1, 1), square_geometry(12, 5, 17, 1, 1, 0, 1, 1),
  };
  cases[0].pad_bottom = cases[0].pad_right = 1;  // SAME at stride 2: the pad after the image only
  cases[0].oh = (cases[0].ih + 1 - 3) / 2 + 1, cases[0].ow = (cases[0].iw + 1 - 3) / 2 + 1;
  cases[3].dilation_w = 1, cases[3].ow = cases[3].iw;  // rows dilated, columns contiguous
  std::mt19937 rng(53);
  for (const std::string& path : int8_paths()) {
    UsePath use(path);
    for (size_t i = 0; i < cases.size(); ++i) {
      const int64_t short_runs = arm_short_tap_runs();
      EXPECT_TRUE(codes_conv_matches_reference(cases[i], i, rng)) << path;
      // the dot-product GEMM has the short taps; the plain NEON and i8mm ones copy im2col rows
      EXPECT_EQ(arm_short_tap_runs() > short_runs, path == "asimddp") << path << " case " << i;
    }
  }
}

// Weights of −128 (possible: the symmetric fit rounds −127.5 to even) take the plain NEON kernel's
// unpaired products; all-saturated inputs hit both ends of u8.
TEST(ArmInt8, ExtremeWeightsAndSaturatedInputs) {
  for (const std::string& path : int8_paths()) {
    UsePath use(path);
    ConvGeometry g{1, 32, 6, 6, 9, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    const int64_t k = 32 * 9;
    auto qw = std::make_shared<QuantizedWeights>();
    qw->values.assign(static_cast<size_t>(9 * k), -128);
    for (int64_t i = 0; i < 9 * k; i += 7) qw->values[i] = 127;
    qw->scales.assign(9, 0.01f);
    for (int32_t zero : {0, 128, 255}) {
      Int8Case c;
      c.q.mode = QuantConfig::Mode::int8_static;
      c.q.scale = 0.001f, c.q.zero_point = zero;
      c.q.weights = qw;
      std::vector<float> x(static_cast<size_t>(32 * 36));
      for (size_t i = 0; i < x.size(); ++i) x[i] = i % 3 ? -5.f : 5.f;  // far outside [0, 255]·s
      x[5] = std::nanf(""), x[6] = INFINITY, x[17] = -INFINITY;            // NaN encodes as 0
      const std::vector<float> w, b(9, 0.f), r(9 * 36, 0.f);
      EXPECT_TRUE(same_bits(run_conv("arm", g, w, b, c, x, r), run_conv("reference", g, w, b, c, x, r)))
          << path << " zero point " << zero;
      EXPECT_EQ(std::string(arm_int8_kernel_name()), path);
    }
  }
}

// The depthwise kernel adds two taps in int16 unless a channel has −128 at both taps of a pair
// ((−128)·(−128) twice overflows): channels with −128 at every tap beside ordinary ones, inputs at
// code 0 (q − 128 = −128), 3×3 (taps fixed at compile time) and 5×3, padded, 40 channels (two
// vectors of 16 and the scalar tail).
TEST(ArmInt8, DepthwiseWithMinus128AtEveryTap) {
  for (int64_t kh : {3, 5}) {
    ConvGeometry g{1, 40, 7, 9, 40, 7, 9, kh, 3, 1, 1, kh / 2, 1, kh / 2, 1, 1, 1, 40};
    const int64_t taps = kh * 3;
    for (bool pairs_overflow : {true, false}) {
      auto qw = std::make_shared<QuantizedWeights>();
      qw->values.assign(static_cast<size_t>(40 * taps), 127);
      for (int64_t c = 0; c < 40; c += 3)
        for (int64_t t = 0; t < taps; ++t)
          if (pairs_overflow || t % 2 == 0) qw->values[c * taps + t] = -128;
      qw->scales.assign(40, 0.01f);
      for (int32_t zero : {0, 255}) {
        Int8Case c;
        c.q.mode = QuantConfig::Mode::int8_static;
        c.q.scale = 0.001f, c.q.zero_point = zero;
        c.q.weights = qw;
        std::vector<float> x(static_cast<size_t>(40 * 63), -5.f);  // code 0 everywhere
        for (size_t i = 0; i < x.size(); i += 11) x[i] = 5.f;       // and some 255
        const std::vector<float> w, b(40, 0.f), r(40 * 63, 0.f);
        EXPECT_TRUE(same_bits(run_conv("arm", g, w, b, c, x, r), run_conv("reference", g, w, b, c, x, r)))
            << "kh " << kh << " zero point " << zero << (pairs_overflow ? " -128 at every tap" : "");
      }
    }
  }
}

// A depthwise layer of 8 channels at stride 1 runs two neighbouring pixels in one 16-lane block
// (int8_depthwise.h; every such geometry takes that path): even and odd output widths (the last
// pixel alone), a single output column, 3x3 (taps fixed at compile time) and 5x3, dilated columns,
// pads, strided rows, −128 weight pairs (single taps), float output and NHWC codes out.
TEST(ArmInt8, DepthwiseOfEightChannelsRunsPixelPairs) {
  std::mt19937 rng(88);
  int cases = 0;
  for (int64_t iw : {1, 6, 7, 16, 17})
    for (int64_t kh : {3, 5})
      for (int64_t dilation_w : {1, 2}) {
        ConvGeometry g{};
        g.n = 1 + cases % 2, g.ic = g.oc = g.groups = 8, g.ih = 6, g.iw = iw, g.kh = kh, g.kw = 3;
        g.stride_h = 1 + cases % 2, g.stride_w = 1, g.dilation_h = 1, g.dilation_w = dilation_w;
        g.pad_top = kh / 2, g.pad_bottom = kh / 2, g.pad_left = g.pad_right = dilation_w;
        g.oh = (g.ih + 2 * g.pad_top - (kh - 1) - 1) / g.stride_h + 1;
        g.ow = (g.iw + 2 * g.pad_left - dilation_w * 2 - 1) + 1;
        auto w = uniform(rng, 8 * kh * 3, -1, 1);
        if (cases % 3 == 0)  // channel 2 at −1 everywhere: −128 codes at both taps of every pair
          for (int64_t t = 0; t < kh * 3; ++t) w[2 * kh * 3 + t] = -1.f;
        const auto b = uniform(rng, 8, -0.5f, 0.5f);
        const auto x = uniform(rng, g.n * 8 * g.ih * g.iw, -1, 1);
        QuantConfig q;
        q.mode = QuantConfig::Mode::int8_static;
        q.scale = 0.008f, q.zero_point = static_cast<int32_t>(pick(rng, {0, 37, 128, 255}));
        ConvPostOps post;
        post.activation.kind = cases % 2 ? Activation::Kind::relu : Activation::Kind::none;
        q.weights = std::make_shared<QuantizedWeights>(quantize_weights(w.data(), 8, kh * 3));
        // float out
        Int8Case c{q, post};
        const std::vector<float> r(static_cast<size_t>(g.n * 8 * g.oh * g.ow), 0.f);
        EXPECT_TRUE(same_bits(run_conv("arm", g, w, b, c, x, r), run_conv("reference", g, w, b, c, x, r))) << describe(g);
        // codes out, requantized in registers
        q.quantize_output = true, q.output_scale = 0.01f, q.output_zero_point = 3;
        q.fixed_point = prepare_fixed_point(q, q.weights->scales, b.data(), post);
        ASSERT_TRUE(q.fixed_point);
        const Tensor input = plain_tensor({g.n, 8, g.ih, g.iw}, x);
        const Shape out{g.n, 8, g.oh, g.ow};
        Tensor ours, ref;
        make_backend("arm")->conv(g, w.data(), b.data(), post, q)->run(input, nullptr, false, ours, out);
        make_backend("reference")->conv(g, w.data(), b.data(), post, q)->run(input, nullptr, false, ref, out);
        ASSERT_TRUE(arm::nhwc_codes(ours) != nullptr) << describe(g);
        EXPECT_TRUE(same_bits(ours.as_f32(), ref.as_f32())) << "codes out: " << describe(g);
        ++cases;
      }
  EXPECT_EQ(cases, 20);
}

TEST(ArmInt8, DenseIsBitIdenticalToTheReferenceOnEveryPath) {
  for (const std::string& path : int8_paths()) {
    UsePath use(path);
    std::mt19937 rng(7);
    for (int i = 0; i < 24; ++i) {
      const int64_t m = pick(rng, {1, 2, 5, 9}), k = pick(rng, {1, 15, 16, 17, 63, 130}),
                    n = pick(rng, {1, 3, 8, 9, 33});
      const Int8Case c = random_int8_case(rng, i);
      const auto w = uniform(rng, n * k, -1, 1), b = uniform(rng, n, -1, 1), x = uniform(rng, m * k, -1, 1);
      std::vector<float> ours(static_cast<size_t>(m * n)), ref(ours.size());
      make_backend("arm")->dense(m, k, n, w.data(), b.data(), c.post.activation, c.q)->run(x.data(), ours.data());
      EXPECT_EQ(std::string(arm_int8_kernel_name()), path);
      make_backend("reference")->dense(m, k, n, w.data(), b.data(), c.post.activation, c.q)->run(x.data(), ref.data());
      EXPECT_TRUE(same_bits(ours, ref)) << path << " dense " << m << "x" << k << "x" << n;
    }
  }
}

// Static layers handing over u8 codes, requantized in TFLite's fixed point (QuantConfig::
// fixed_point): output scales from tiny (multipliers shifted left) to large, activations none /
// relu / clip, the source as float, as plain u8 codes, or as an earlier ARM conv's NHWC codes. The
// codes equal the reference backend's.
TEST(ArmInt8, FixedPointCodesAreBitIdenticalToTheReference) {
  for (const std::string& path : int8_paths()) {
    UsePath use(path);
    std::mt19937 rng(31);
    int tables = 0;  // cases whose activation went through a table (swish, hardsigmoid, hardswish)
    for (int i = 0; i < 90; ++i) {
      const ConvGeometry g = random_geometry(rng, i % 3);
      QuantConfig q;
      q.mode = QuantConfig::Mode::int8_static;
      q.scale = std::uniform_real_distribution<float>(0.002f, 0.02f)(rng);
      q.zero_point = static_cast<int32_t>(pick(rng, {0, 128, 255, 37}));
      q.quantize_output = true;
      q.output_scale = std::exp2(std::uniform_real_distribution<float>(-14, 2)(rng));
      q.output_zero_point = static_cast<int32_t>(pick(rng, {0, 3, 128, 250}));
      ConvPostOps post;
      // none, relu, clip; swish, hardsigmoid, hardswish (through a table)
      post.activation.kind = static_cast<Activation::Kind>(pick(rng, {0, 1, 2, 3, 4, 5}));
      post.activation.lo = -0.5f, post.activation.hi = 0.7f;
      post.activation.alpha = 1.f / 6, post.activation.beta = 0.5f;
      const bool table = static_cast<int>(post.activation.kind) >= 3;
      if (table) q.output_scale = std::exp2(std::uniform_real_distribution<float>(-8, 0)(rng));
      const auto w = uniform(rng, g.oc * g.ic / g.groups * g.kh * g.kw, -1, 1);
      const auto b = uniform(rng, g.oc, -0.5f, 0.5f);
      q.weights = std::make_shared<QuantizedWeights>(quantize_weights(w.data(), g.oc, g.ic / g.groups * g.kh * g.kw));
      q.fixed_point = prepare_fixed_point(q, q.weights->scales, b.data(), post);
      if (table && !q.fixed_point) continue;  // a table too coarse for this output grid: float requantization
      ASSERT_TRUE(q.fixed_point) << "case " << i;
      tables += table;
      if (i % 5 == 4) {  // int32 biases too large for the sums to start from (int8_conv.cpp bias_in_sums_)
        auto huge = std::make_shared<FixedPointRequantization>(*q.fixed_point);
        const int64_t kmax = g.ic / g.groups * g.kh * g.kw * 255 * 128;
        for (size_t c = 0; c < huge->bias.size(); ++c)
          huge->bias[c] = static_cast<int32_t>((c % 2 ? -1 : 1) * (INT32_MAX - kmax / 2));
        q.fixed_point = huge;
      }
      Tensor x = Tensor::zeros_f32({g.n, g.ic, g.ih, g.iw});
      const auto values = uniform(rng, x.numel(), -1, 1);
      std::copy(values.begin(), values.end(), x.f());
      if (i % 2) {  // the same values as plain u8 codes on the layer's grid
        Tensor codes = Tensor::quantized(DType::u8, x.shape, QuantParams::per_tensor(q.scale, q.zero_point));
        const quant::Affine a(activation_format(), quant::AffineParams{q.scale, q.zero_point});
        for (int64_t k = 0; k < x.numel(); ++k) codes.u8()[k] = static_cast<uint8_t>(a.encode(values[k]));
        x = codes;
      }
      const Shape out{g.n, g.oc, g.oh, g.ow};
      auto arm = make_backend("arm"), reference = make_backend("reference");
      Tensor ours, ref;
      arm->conv(g, w.data(), b.data(), post, q)->run(x, nullptr, false, ours, out);
      reference->conv(g, w.data(), b.data(), post, q)->run(x, nullptr, false, ref, out);
      ASSERT_EQ(ours.dtype, DType::u8);
      EXPECT_TRUE(ours.native != nullptr) << "NHWC codes, not plain ones";
      EXPECT_TRUE(same_bits(ours.as_f32(), ref.as_f32())) << path << " case " << i << ": " << describe(g);
      // an ARM conv reading those NHWC codes: a 1x1 conv on the same grid
      if (i % 3 == 2) {
        ConvGeometry g2{};
        g2.n = g.n, g2.ic = g.oc, g2.ih = g.oh, g2.iw = g.ow, g2.oc = 5, g2.oh = g.oh, g2.ow = g.ow;
        g2.kh = g2.kw = g2.stride_h = g2.stride_w = g2.dilation_h = g2.dilation_w = g2.groups = 1;
        QuantConfig q2 = q;
        q2.scale = q.output_scale, q2.zero_point = q.output_zero_point;
        const auto w2 = uniform(rng, 5 * g.oc, -1, 1), b2 = uniform(rng, 5, -0.5f, 0.5f);
        q2.weights = std::make_shared<QuantizedWeights>(quantize_weights(w2.data(), 5, g.oc));
        q2.fixed_point = prepare_fixed_point(q2, q2.weights->scales, b2.data(), ConvPostOps{});
        Tensor ours2, ref2;
        arm->conv(g2, w2.data(), b2.data(), ConvPostOps{}, q2)->run(ours, nullptr, false, ours2, {g.n, 5, g.oh, g.ow});
        reference->conv(g2, w2.data(), b2.data(), ConvPostOps{}, q2)->run(ref, nullptr, false, ref2, {g.n, 5, g.oh, g.ow});
        EXPECT_TRUE(same_bits(ours2.as_f32(), ref2.as_f32())) << path << " chained case " << i;
      }
    }
    EXPECT_GE(tables, 20) << path;
  }
}

// A residual sum whose residual is the NHWC codes an earlier ARM conv wrote (MobileNetV2's
// projection convs): channel counts with and without a tail of fewer than 4, activations after the
// sum; the codes equal the reference backend's reading the same residual.
TEST(ArmInt8, ResidualSumReadsNhwcCodes) {
  for (const std::string& path : int8_paths()) {
    UsePath use(path);
    std::mt19937 rng(41);
    int integer = 0;  // sums whose residual went through the integer form
    for (int i = 0; i < 24; ++i) {
      const int64_t n = 1 + i % 2, c = pick(rng, {4, 7, 16, 24, 37}), h = pick(rng, {3, 5}), w = pick(rng, {4, 9});
      ConvGeometry g{};
      g.n = n, g.ic = c, g.ih = h, g.iw = w, g.oc = c, g.oh = h, g.ow = w;
      g.kh = g.kw = g.stride_h = g.stride_w = g.dilation_h = g.dilation_w = g.groups = 1;
      QuantConfig q;  // the residual's producer: fixed point, NHWC codes on (0.03, 110)
      q.mode = QuantConfig::Mode::int8_static;
      q.scale = 0.01f, q.zero_point = 128;
      q.quantize_output = true, q.output_scale = 0.03f, q.output_zero_point = 110;
      const auto w1 = uniform(rng, c * c, -1, 1), b1 = uniform(rng, c, -0.5f, 0.5f);
      q.weights = std::make_shared<QuantizedWeights>(quantize_weights(w1.data(), c, c));
      q.fixed_point = prepare_fixed_point(q, q.weights->scales, b1.data(), ConvPostOps{});
      Tensor x = Tensor::zeros_f32({n, c, h, w});
      const auto values = uniform(rng, x.numel(), -1, 1);
      std::copy(values.begin(), values.end(), x.f());
      auto arm = make_backend("arm"), reference = make_backend("reference");
      Tensor residual_arm, residual_ref;
      arm->conv(g, w1.data(), b1.data(), ConvPostOps{}, q)->run(x, nullptr, false, residual_arm, {n, c, h, w});
      reference->conv(g, w1.data(), b1.data(), ConvPostOps{}, q)->run(x, nullptr, false, residual_ref, {n, c, h, w});
      ASSERT_TRUE(residual_arm.native != nullptr) << "NHWC codes";
      // the sum, the residual on the producer's grid: float requantization (odd cases) or the integer
      // form (even: FixedPointRequantization::residual), 3x3 and depthwise too
      QuantConfig q2 = q;
      q2.residual_scale = q.output_scale, q2.residual_zero_point = q.output_zero_point;
      q2.output_scale = 0.05f, q2.output_zero_point = 20;
      ConvPostOps post;
      post.sum = true;
      post.activation.kind = pick(rng, {0, 1, 3}) == 0 ? Activation::Kind::none
                             : i % 3 == 0          ? Activation::Kind::relu
                                                   : Activation::Kind::swish;
      post.after_sum.kind = i % 2 ? Activation::Kind::relu : Activation::Kind::none;
      ConvGeometry g2 = g;
      if (i % 4 == 2) g2.kh = g2.kw = 3, g2.pad_top = g2.pad_left = g2.pad_bottom = g2.pad_right = 1;
      if (i % 8 == 4) g2.groups = c;  // depthwise
      const int64_t k2 = c / g2.groups * g2.kh * g2.kw;
      const auto w2 = uniform(rng, c * k2, -1, 1), b2 = uniform(rng, c, -0.5f, 0.5f);
      q2.weights = std::make_shared<QuantizedWeights>(quantize_weights(w2.data(), c, k2));
      q2.fixed_point = i % 2 ? nullptr : prepare_fixed_point(q2, q2.weights->scales, b2.data(), post);
      integer += q2.fixed_point && q2.fixed_point->residual;
      Tensor ours, ref;
      arm->conv(g2, w2.data(), b2.data(), post, q2)->run(x, &residual_arm, false, ours, {n, c, h, w});
      reference->conv(g2, w2.data(), b2.data(), post, q2)->run(x, &residual_ref, false, ref, {n, c, h, w});
      EXPECT_TRUE(same_bits(ours.as_f32(), ref.as_f32())) << path << " case " << i << ": " << c << " channels";
    }
    EXPECT_GE(integer, 10) << path;
  }
}

// The automatic choice follows the CPU (the fastest it runs), and EDGEQUANT_ARM_DOTPROD=0 forces plain NEON.
TEST(ArmInt8, DispatchFollowsTheCpuAndTheOverride) {
  const float w[4] = {1, -1, 0.5f, 0.25f}, x[4] = {0.1f, 0.2f, 0.3f, 0.4f};
  float y[1];
  QuantConfig q;
  q.mode = QuantConfig::Mode::int8_dynamic;
  make_backend("arm")->dense(1, 4, 1, w, nullptr, {}, q)->run(x, y);
  EXPECT_EQ(std::string(arm_int8_kernel_name()),
            arm::cpu_has_i8mm() ? "i8mm" : arm::cpu_has_dotprod() ? "asimddp" : "neon");
  setenv("EDGEQUANT_ARM_DOTPROD", "0", 1);
  make_backend("arm")->dense(1, 4, 1, w, nullptr, {}, q)->run(x, y);
  unsetenv("EDGEQUANT_ARM_DOTPROD");
  EXPECT_EQ(std::string(arm_int8_kernel_name()), "neon");
}

// `make test-arm` runs this binary as a Cortex-A76 and as a Cortex-A53 and says which CPU should have
// the dot product, so an emulator that hid (or invented) it cannot turn the SDOT tests into NEON ones.
TEST(ArmInt8, TheEmulatedCpuHasTheExpectedDotProduct) {
  const char* expected = std::getenv("EDGEQUANT_EXPECT_DOTPROD");
  if (!expected) GTEST_SKIP() << "EDGEQUANT_EXPECT_DOTPROD not set (make test-arm sets it)";
  EXPECT_EQ(arm::cpu_has_dotprod(), std::string(expected) == "1");
  if (const char* i8mm = std::getenv("EDGEQUANT_EXPECT_I8MM")) EXPECT_EQ(arm::cpu_has_i8mm(), std::string(i8mm) == "1");
}

// FP32: float sums in another order than the reference's double ones: 1e-5 of the output scale.
TEST(ArmF32, ConvolutionsAndDenseMatchTheReference) {
  std::mt19937 rng(3);
  for (int i = 0; i < 60; ++i) {
    const ConvGeometry g = random_geometry(rng, i % 3);
    Int8Case c = random_int8_case(rng, i);
    c.q = QuantConfig{};
    const auto w = uniform(rng, g.oc * g.ic / g.groups * g.kh * g.kw, -1, 1);
    const auto b = uniform(rng, g.oc, -0.5f, 0.5f);
    const auto x = uniform(rng, g.n * g.ic * g.ih * g.iw, -1, 1);
    const auto r = uniform(rng, g.n * g.oc * g.oh * g.ow, -1, 1);
    EXPECT_TRUE(close(run_conv("arm", g, w, b, c, x, r, 1 + i % 3), run_conv("reference", g, w, b, c, x, r), 1e-5))
        << "case " << i << ": " << describe(g);
  }
  for (int64_t m : {1, 3, 8, 11})
    for (int64_t k : {1, 5, 64, 67}) {
      const int64_t n = 13;
      const auto w = uniform(rng, n * k, -1, 1), b = uniform(rng, n, -1, 1), x = uniform(rng, m * k, -1, 1);
      std::vector<float> ours(static_cast<size_t>(m * n)), ref(ours.size());
      Activation relu;
      relu.kind = Activation::Kind::relu;
      make_backend("arm")->dense(m, k, n, w.data(), b.data(), relu, {})->run(x.data(), ours.data());
      make_backend("reference")->dense(m, k, n, w.data(), b.data(), relu, {})->run(x.data(), ref.data());
      EXPECT_TRUE(close(ours, ref, 1e-5)) << m << "x" << k;
    }
}

// The FP32 GEMM's packed path (B of two or more panels, k >= 16: rows interleaved once per block, the
// 4-k steps in assembly) against the same GEMM one panel at a time (each 8 columns a B of their own,
// the intrinsics path): the same FMLAs in the same order, so bit for bit, with the k tail, rows and
// columns that cut tiles, and the bias + activation epilogue with and without its affine step.
TEST(ArmF32, PackedGemmIsThePanelByPanelGemmBitForBit) {
  std::mt19937 rng(41);
  for (int64_t m : {1, 7, 8, 9, 17})
    for (int64_t k : {16, 19, 64, 131})
      for (int64_t n : {9, 16, 21})
        for (int variant = 0; variant < 3; ++variant) {
          const auto a = uniform(rng, m * k, -1, 1), b = uniform(rng, n * k, -1, 1), bias = uniform(rng, n + 8, -1, 1);
          std::vector<const float*> rows;
          for (int64_t r = 0; r < m; ++r) rows.push_back(a.data() + r * k);
          arm::F32Epilogue epilogue{bias.data(), Activation{}};
          if (variant > 0) epilogue.act.kind = Activation::Kind::relu;
          if (variant == 2) epilogue.act.scale = 0.5f, epilogue.act.shift = -0.25f;
          std::vector<float> packed(static_cast<size_t>(m * n)), by_panel(packed.size());
          arm::f32_gemm(rows.data(), m, arm::pack_f32(b.data(), n, k), packed.data(), n, variant ? &epilogue : nullptr);
          for (int64_t n0 = 0; n0 < n; n0 += 8) {  // one panel: the unpacked path
            const int64_t cols = std::min<int64_t>(8, n - n0);
            arm::F32Epilogue panel{bias.data() + n0, epilogue.act};
            arm::f32_gemm(rows.data(), m, arm::pack_f32(b.data() + n0 * k, cols, k), by_panel.data() + n0, n,
                          variant ? &panel : nullptr);
          }
          EXPECT_TRUE(same_bits(packed, by_panel)) << m << "x" << k << "x" << n << " variant " << variant;
        }
}

// A last block of at most 4 rows runs 4-row tiles: each of its rows equals that row computed inside a
// whole 8-row block (the GEMM of 16 rows, the rest random), bit for bit, packed path and not, with the
// epilogue.
TEST(ArmF32, ShortBlocksAreTheEightRowTilesBitForBit) {
  std::mt19937 rng(43);
  for (bool with_epilogue : {true, false})  // without: pairs of whole panels run 4 x 16 (packed_steps4x16)
    for (int64_t m : {1, 2, 3, 4, 9, 12})
      for (int64_t k : {3, 16, 67})
        for (int64_t n : {5, 8, 21, 40}) {
          const auto a = uniform(rng, 16 * k, -1, 1), b = uniform(rng, n * k, -1, 1), bias = uniform(rng, n + 8, -1, 1);
          std::vector<const float*> rows;
          for (int64_t r = 0; r < 16; ++r) rows.push_back(a.data() + r * k);
          const int64_t first = m > 8 ? 0 : 8;  // the short rows in the second block of the 16
          arm::F32Epilogue epilogue{bias.data(), Activation{}};
          epilogue.act.kind = Activation::Kind::relu;
          const arm::PackedF32 packed = arm::pack_f32(b.data(), n, k);
          std::vector<float> whole(static_cast<size_t>(16 * n)), short_rows(static_cast<size_t>(m * n));
          arm::f32_gemm(rows.data(), 16, packed, whole.data(), n, with_epilogue ? &epilogue : nullptr);
          arm::f32_gemm(rows.data() + first, m, packed, short_rows.data(), n, with_epilogue ? &epilogue : nullptr);
          const std::vector<float> want(whole.begin() + first * n, whole.begin() + (first + m) * n);
          EXPECT_TRUE(same_bits(short_rows, want)) << m << "x" << k << "x" << n << (with_epilogue ? " + epilogue" : "");
        }
}

// The GEMM's epilogue (in registers, or stored and activated from memory for the costly kinds) is
// the scalar apply_activation of the plain product plus bias, bit for bit, every kind, with and
// without the affine step, 8-row and 4-row tiles.
TEST(ArmF32, GemmEpilogueIsTheScalarActivationBitForBit) {
  std::mt19937 rng(47);
  using K = Activation::Kind;
  for (int64_t k : {37, 36})  // 36: whole 4-k steps, none / relu / clip in the assembly loop (packed_steps_biased)
    for (K kind : {K::none, K::relu, K::clip, K::swish, K::hardsigmoid, K::hardswish, K::gelu})
      for (bool affine : {false, true}) {
        const int64_t m = 11, n = 19;
        auto a = uniform(rng, m * k, -1, 1);
        a[0] = NAN, a[2 * k + 1] = INFINITY, a[3 * k] = -0.f;  // NaN and infinite sums in rows 0 and 2
        const auto b = uniform(rng, n * k, -1, 1), bias = uniform(rng, n + 8, -1, 1);
        std::vector<const float*> rows;
        for (int64_t r = 0; r < m; ++r) rows.push_back(a.data() + r * k);
        arm::F32Epilogue epilogue{bias.data(), Activation{}};
        epilogue.act.kind = kind, epilogue.act.lo = -0.3f, epilogue.act.hi = 0.4f, epilogue.act.alpha = 0.2f,
        epilogue.act.beta = 0.5f;
        if (affine) epilogue.act.scale = -0.75f, epilogue.act.shift = 0.125f;
        const arm::PackedF32 packed = arm::pack_f32(b.data(), n, k);
        std::vector<float> ours(static_cast<size_t>(m * n)), want(ours.size());
        arm::f32_gemm(rows.data(), m, packed, ours.data(), n, &epilogue);
        arm::f32_gemm(rows.data(), m, packed, want.data(), n);
        for (int64_t i = 0; i < m * n; ++i) want[i] = apply_activation(epilogue.act, want[i] + bias[i % n]);
        EXPECT_TRUE(same_bits(ours, want)) << "k " << k << ", kind " << static_cast<int>(kind)
                                           << (affine ? " + affine" : "");
      }
}

// epilogue.h's vector activations (what every ARM kernel's epilogue applies) against the scalar
// apply_activation, bit for bit: zeros of both signs, NaN, infinities, subnormals, the clip and
// hard-sigmoid bends, with and without the affine step after.
TEST(ArmF32, VectorActivationsAreTheScalarOnesBitForBit) {
  std::mt19937 rng(29);
  std::vector<float> x = uniform(rng, 400, -12, 12);
  const float special[] = {0.f, -0.f, NAN, -NAN, INFINITY, -INFINITY, 1e-40f, -1e-40f, -0.5f, 0.7f, 0.25f,
                           -0.25f, 3.f, -3.f, 88.f, -88.f, 1e30f, -1e30f};
  x.insert(x.begin(), std::begin(special), std::end(special));
  while (x.size() % 4) x.push_back(1.f);
  using K = Activation::Kind;
  for (K kind : {K::none, K::relu, K::clip, K::swish, K::hardsigmoid, K::hardswish, K::gelu})
    for (bool affine : {false, true}) {
      Activation act;
      act.kind = kind, act.lo = -0.5f, act.hi = 0.7f, act.alpha = 2.f, act.beta = 0.5f;
      if (affine) act.scale = -0.75f, act.shift = 0.125f;
      for (size_t i = 0; i < x.size(); i += 4) {
        float lanes[4];
        vst1q_f32(lanes, arm::activate(act, vld1q_f32(x.data() + i)));
        for (int l = 0; l < 4; ++l) {
          const float want = apply_activation(act, x[i + l]);
          uint32_t a, b;
          std::memcpy(&a, &lanes[l], 4), std::memcpy(&b, &want, 4);
          EXPECT_TRUE(a == b || (std::isnan(lanes[l]) && std::isnan(want)))
              << "kind " << static_cast<int>(kind) << (affine ? " + affine" : "") << " at " << x[i + l] << ": "
              << lanes[l] << " vs " << want;
        }
      }
    }
}

// FP32 depthwise convs (f32_depthwise.cpp): 3x3 windows sliding by one pixel take the paired path
// (two outputs from four columns a row), odd row lengths its single-pixel tail; strides, dilations,
// pads, channel counts off the 8-channel blocks, every activation, residuals, two threads.
TEST(ArmF32, DepthwiseConvolutionsMatchTheReference) {
  std::mt19937 rng(23);
  int paired = 0;
  for (int i = 0; i < 60; ++i) {
    ConvGeometry g{};
    g.n = 1 + i % 2;
    g.ic = g.oc = g.groups = pick(rng, {8, 13, 16, 24, 37});
    g.kh = g.kw = i % 7 == 6 ? 5 : 3;
    g.stride_h = pick(rng, {1, 2}), g.stride_w = i % 4 == 3 ? 2 : 1;
    g.dilation_h = g.dilation_w = i % 9 == 8 ? 2 : 1;
    g.pad_top = g.pad_bottom = pick(rng, {0, 1}), g.pad_left = g.pad_right = pick(rng, {0, 1, 2});
    g.ih = pick(rng, {3, 5, 9, 14}), g.iw = pick(rng, {3, 4, 5, 7, 10, 17});
    const int64_t eh = g.ih + 2 * g.pad_top - g.dilation_h * (g.kh - 1) - 1;
    const int64_t ew = g.iw + 2 * g.pad_left - g.dilation_w * (g.kw - 1) - 1;
    if (eh < 0 || ew < 0) continue;
    g.oh = eh / g.stride_h + 1, g.ow = ew / g.stride_w + 1;
    paired += g.kh == 3 && g.stride_w == 1 && g.dilation_w == 1 && g.ow >= 2;
    Int8Case c = random_int8_case(rng, i);
    c.q = QuantConfig{};
    const auto w = uniform(rng, g.oc * g.kh * g.kw, -1, 1), b = uniform(rng, g.oc, -0.5f, 0.5f);
    const auto x = uniform(rng, g.n * g.ic * g.ih * g.iw, -1, 1), r = uniform(rng, g.n * g.oc * g.oh * g.ow, -1, 1);
    EXPECT_TRUE(close(run_conv("arm", g, w, b, c, x, r, 1 + i % 2), run_conv("reference", g, w, b, c, x, r), 1e-5))
        << "case " << i << ": " << describe(g);
  }
  EXPECT_GE(paired, 20) << "the paired 3x3 path ran";
}

// FP32 3x3 stride-1 convs run by Winograd F(4x4, 3x3) and F(6x6, 3x3) (f32_winograd.cpp): output
// sizes that cut the tiles, pads 0 / 1 / 2, channel counts below, at and above the transforms' 16
// lanes, post-ops with a residual, two images and two threads; within 1e-4 of the largest output (the
// transforms' rounding). An input with an outlier (winograd::exact_for) runs the direct kernel.
TEST(ArmF32, WinogradMatchesTheReference) {
  std::mt19937 rng(11);
  const int64_t f63_before = arm_winograd63_runs();
  int f63_shapes = 0;
  for (int i = 0; i < 32; ++i) {
    ConvGeometry g{};
    g.n = 1 + i % 2, g.ic = pick(rng, {8, 17, 33, 64}), g.oc = pick(rng, {8, 9, 24, 40});
    g.ih = pick(rng, {4, 7, 13, 16, 26}), g.iw = pick(rng, {5, 8, 14, 25});
    g.kh = g.kw = 3, g.stride_h = g.stride_w = g.dilation_h = g.dilation_w = g.groups = 1;
    g.pad_top = g.pad_bottom = i % 3, g.pad_left = g.pad_right = (i + 1) % 3;
    g.oh = g.ih + 2 * g.pad_top - 2, g.ow = g.iw + 2 * g.pad_left - 2;
    if (g.oh < 4 || g.ow < 4) continue;
    ASSERT_TRUE(arm::winograd_fits_arm(g, QuantConfig{})) << describe(g);
    f63_shapes += winograd::f63::fewer_products(g.oh, g.ow);
    Int8Case c = random_int8_case(rng, i);
    c.q = QuantConfig{};
    const auto w = uniform(rng, g.oc * g.ic * 9, -1, 1), b = uniform(rng, g.oc, -0.5f, 0.5f);
    const auto x = uniform(rng, g.n * g.ic * g.ih * g.iw, -1, 1), r = uniform(rng, g.n * g.oc * g.oh * g.ow, -1, 1);
    const int64_t before = arm_winograd_runs();
    const auto ours = run_conv("arm", g, w, b, c, x, r, 1 + i % 2);
    EXPECT_EQ(arm_winograd_runs(), before + 1) << "Winograd ran, case " << i;
    EXPECT_TRUE(close(ours, run_conv("reference", g, w, b, c, x, r), 1e-4)) << "case " << i << ": " << describe(g);
  }
  EXPECT_GE(f63_shapes, 8);
  EXPECT_EQ(arm_winograd63_runs() - f63_before, f63_shapes) << "F(6x6, 3x3) ran where it multiplies less";
  ConvGeometry g{1, 16, 9, 9, 16, 9, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  auto x = uniform(rng, 16 * 81, -1, 1);
  x[40] = 1e6f;  // 2^20 over the typical |x|: Winograd would smear its rounding over the tile
  const auto w = uniform(rng, 16 * 16 * 9, -1, 1), b = uniform(rng, 16, -0.5f, 0.5f);
  const std::vector<float> r(16 * 81, 0.f);
  const int64_t before = arm_winograd_runs();
  const auto ours = run_conv("arm", g, w, b, Int8Case{}, x, r);
  EXPECT_EQ(arm_winograd_runs(), before) << "an outlier runs the direct kernel";
  EXPECT_TRUE(close(ours, run_conv("reference", g, w, b, Int8Case{}, x, r), 1e-6));
}

// The NEON transforms (f32_winograd_transforms.cpp) against the portable ones they restate, F(4x4, 3x3)
// and F(6x6, 3x3): bit for bit on tiles inside and across the image's edge, channel counts around the
// 4 lanes (and the portable 16), blocks with rows beyond `count`, every activation with and without a
// residual.
struct WinogradVariant {
  const char* name;
  int positions;
  winograd::Tiling (*tiling)(int64_t ih, int64_t iw, int64_t oh, int64_t ow, int64_t pad_top, int64_t pad_left);
  void (*input_neon)(const float*, int64_t, const winograd::Tiling&, int64_t, int64_t, int64_t, float*, bool packed);
  void (*input)(const float*, int64_t, const winograd::Tiling&, int64_t, int64_t, int64_t, float*);
  void (*output_neon)(const float*, int64_t, const winograd::Tiling&, int64_t, int64_t, int64_t, const float*,
                      const ConvPostOps&, float*);
  void (*output)(const float*, int64_t, const winograd::Tiling&, int64_t, int64_t, int64_t, const float*,
                 const ConvPostOps&, float*);
};

const WinogradVariant kWinogradVariants[] = {
    {"F(4x4, 3x3)", winograd::kPositions,
     [](int64_t ih, int64_t iw, int64_t oh, int64_t ow, int64_t top, int64_t left) {
       return winograd::Tiling{ih, iw, oh, ow, top, left};
     },
     arm::winograd_input_neon, winograd::transform_input, arm::winograd_output_neon, winograd::transform_output},
    {"F(6x6, 3x3)", winograd::f63::kPositions, winograd::f63::tiling, arm::winograd63_input_neon,
     winograd::f63::transform_input, arm::winograd63_output_neon, winograd::f63::transform_output}};

void expect_transforms_bit_for_bit(const WinogradVariant& variant) {
  SCOPED_TRACE(variant.name);
  std::mt19937 rng(17);
  using K = Activation::Kind;
  const K kinds[] = {K::none, K::relu, K::clip, K::swish, K::hardsigmoid, K::hardswish, K::gelu};
  for (int i = 0; i < 40; ++i) {
    const int64_t channels = pick(rng, {1, 3, 4, 5, 8, 13, 16, 17, 36});
    const int64_t ih = pick(rng, {4, 6, 7, 11, 17}), iw = pick(rng, {4, 5, 9, 14, 16}), pad = i % 3;
    const winograd::Tiling t = variant.tiling(ih, iw, ih + 2 * pad - 2, iw + 2 * pad - 2, pad, pad);
    if (t.oh < 1 || t.ow < 1) continue;
    const int64_t block = pick(rng, {3, 8, 32}), first = i % 2, count = std::min<int64_t>(block - 1, t.tiles() - first);
    if (count < 1) continue;
    const auto x = uniform(rng, ih * iw * channels, -2, 2);
    std::vector<float> ours(variant.positions * block * channels, 7.f), theirs = ours;
    variant.input_neon(x.data(), channels, t, first, count, block, ours.data(), false);
    variant.input(x.data(), channels, t, first, count, block, theirs.data());
    EXPECT_TRUE(same_bits(ours, theirs)) << "input, case " << i << ": " << channels << " channels";

    ConvPostOps post;
    post.activation.kind = kinds[i % 7];
    post.activation.lo = -0.5f, post.activation.hi = 1.5f, post.activation.alpha = 0.2f, post.activation.beta = 0.5f;
    if (i % 4 == 1) post.activation.scale = 0.75f, post.activation.shift = -0.25f;
    post.sum = i % 3 == 2;
    post.after_sum.kind = i % 2 ? K::relu : K::none;
    const auto products = uniform(rng, variant.positions * block * channels, -3, 3);
    const auto bias = uniform(rng, channels, -1, 1);
    const auto residual = uniform(rng, t.oh * t.ow * channels, -1, 1);
    std::vector<float> y_ours = residual, y_theirs = residual;
    const float* b = i % 5 == 0 ? nullptr : bias.data();
    variant.output_neon(products.data(), channels, t, first, count, block, b, post, y_ours.data());
    variant.output(products.data(), channels, t, first, count, block, b, post, y_theirs.data());
    EXPECT_TRUE(same_bits(y_ours, y_theirs)) << "output, case " << i << ": " << channels << " channels, activation "
                                             << static_cast<int>(post.activation.kind) << (post.sum ? " + sum" : "");
  }
}

TEST(ArmF32, WinogradTransformsAreThePortableOnesBitForBit) {
  for (const WinogradVariant& variant : kWinogradVariants) expect_transforms_bit_for_bit(variant);
}

// The range Winograd checks an input by (winograd::exact_for), on NEON: the portable one's fields
// exactly, on sizes around the 16-value step and the 16,384-value block, with zeros, subnormals,
// negatives, Inf and NaN among the values.
TEST(ArmF32, WinogradInputRangeIsThePortableOne) {
  std::mt19937 rng(31);
  for (const int64_t n : {0, 1, 15, 16, 17, 100, 16384, 16389, 40000}) {
    auto x = uniform(rng, n, -3, 3);
    for (int64_t i = 0; i < n; i += 7) x[i] = i % 3 ? 0.f : -1e-40f;  // zeros and subnormals
    if (n > 20) x[n - 3] = 3e38f, x[n / 2] = -1e-3f;
    for (const float special : {0.f, std::numeric_limits<float>::infinity(), NAN}) {
      if (n > 0 && special != 0.f) x[n / 3] = special;
      const winograd::InputRange ours = arm::input_range_neon(x.data(), n), theirs = winograd::input_range(x.data(), n);
      EXPECT_EQ(ours.max_abs_bits, theirs.max_abs_bits) << n << " values, special " << special;
      EXPECT_EQ(ours.exponent_sum, theirs.exponent_sum) << n << " values, special " << special;
      EXPECT_EQ(ours.normal_count, theirs.normal_count) << n << " values, special " << special;
    }
  }
}

// The input transform writing V as the GEMM packs its rows (f32_gemm_packed) against V as rows and
// f32_gemm: the same products bit for bit, for block counts around the 8-row blocks and the 4-row
// short block (1-20 tiles), one and several B panels, tiles inside and across the image's edge.
TEST(ArmF32, PackedWinogradInputIsTheGemmsOwnPackingBitForBit) {
  std::mt19937 rng(29);
  for (const WinogradVariant& variant : kWinogradVariants) {
    SCOPED_TRACE(variant.name);
    for (int i = 0; i < 24; ++i) {
      const int64_t ic = pick(rng, {4, 8, 12, 36}), oc = pick(rng, {5, 8, 13, 24}), pad = i % 3;
      const int64_t ih = pick(rng, {9, 14, 20}), iw = pick(rng, {11, 16, 26});
      const winograd::Tiling t = variant.tiling(ih, iw, ih + 2 * pad - 2, iw + 2 * pad - 2, pad, pad);
      const int64_t count = std::min<int64_t>(1 + i % 20, t.tiles()), block = (count + 7) / 8 * 8;
      const auto x = uniform(rng, ih * iw * ic, -2, 2), w = uniform(rng, oc * ic, -1, 1);
      const arm::PackedF32 b = arm::pack_f32(w.data(), oc, ic);
      std::vector<float> rows_form(variant.positions * block * ic), packed_form(rows_form.size(), NAN);
      variant.input_neon(x.data(), ic, t, 0, count, block, rows_form.data(), false);
      variant.input_neon(x.data(), ic, t, 0, count, block, packed_form.data(), true);
      for (int q = 0; q < variant.positions; q += 9) {
        std::vector<const float*> rows(static_cast<size_t>(count));
        for (int64_t k = 0; k < count; ++k) rows[k] = rows_form.data() + (q * block + k) * ic;
        std::vector<float> expected(static_cast<size_t>(count * oc)), ours(expected.size());
        arm::f32_gemm(rows.data(), count, b, expected.data(), oc);
        arm::f32_gemm_packed(packed_form.data() + q * block * ic, count, b, ours.data(), oc);
        EXPECT_TRUE(same_bits(ours, expected)) << "case " << i << ", position " << q << ": " << count << " tiles, "
                                               << ic << " -> " << oc << " channels";
      }
    }
  }
}

TEST(ArmPool, MaxAndAverageAreBitIdenticalToTheReference) {
  std::mt19937 rng(11);
  for (int i = 0; i < 80; ++i) {
    PoolGeometry g{i % 2 ? PoolGeometry::Kind::max : PoolGeometry::Kind::average, i % 4 < 2, 1, 3, 0, 0, 0, 0, 0,
                   0, 0, 0, 0, 0, 0, 0};
    g.ih = pick(rng, {1, 4, 7, 13}), g.iw = pick(rng, {2, 5, 8, 17, 40});
    g.kh = pick(rng, {1, 2, 3}), g.kw = pick(rng, {2, 3});
    g.stride_h = pick(rng, {1, 2}), g.stride_w = pick(rng, {1, 2});
    g.pad_top = pick(rng, {0, 1}), g.pad_left = pick(rng, {0, 1}), g.pad_bottom = pick(rng, {0, 1, 2}),
    g.pad_right = pick(rng, {0, 1});
    if (g.ih + g.pad_top + g.pad_bottom < g.kh || g.iw + g.pad_left + g.pad_right < g.kw) continue;
    g.oh = (g.ih + g.pad_top + g.pad_bottom - g.kh) / g.stride_h + 1;
    g.ow = (g.iw + g.pad_left + g.pad_right - g.kw + g.stride_w - 1) / g.stride_w + 1;  // ceil mode
    auto x = uniform(rng, g.n * g.c * g.ih * g.iw, -1, 1);
    for (size_t j = i % 3; j + 1 < x.size(); j += 5) x[j] = -0.f, x[j + 1] = 0.f;  // −0 / +0 ties: the first wins
    if (i % 3 == 0) x[i % x.size()] = std::nanf("");                                // NaN taps are skipped
    std::vector<float> ours(static_cast<size_t>(g.n * g.c * g.oh * g.ow)), ref(ours.size());
    make_backend("arm")->pool(g)->run(x.data(), ours.data());
    make_backend("reference")->pool(g)->run(x.data(), ref.data());
    EXPECT_TRUE(same_bits(ours, ref)) << "case " << i;
    // the same values as an ARM FP32 conv leaves them (NHWC), and more channels than a vector
    for (int64_t channels : {int64_t{3}, int64_t{9}, int64_t{21}}) {  // lanes of 16, 4 and one
      PoolGeometry wide = g;
      wide.c = channels;
      auto values = uniform(rng, wide.n * wide.c * wide.ih * wide.iw, -1, 1);
      for (size_t j = i % 3; j + 1 < values.size(); j += 7) values[j] = -0.f, values[j + 1] = 0.f;
      for (size_t j = i % 5; j < values.size(); j += 11) values[j] = std::nanf("");  // in every lane group
      const Tensor plain = plain_tensor({wide.n, wide.c, wide.ih, wide.iw}, values);
      Tensor arm_out, ref_out;
      const Shape out{wide.n, wide.c, wide.oh, wide.ow};
      make_backend("arm")->pool(wide)->run(as_nhwc(plain), arm_out, out);
      make_backend("reference")->pool(wide)->run(plain, ref_out, out);
      EXPECT_NE(arm::nhwc_float(arm_out), nullptr) << "stays NHWC, case " << i;
      EXPECT_TRUE(same_bits(arm_out.as_f32(), ref_out.as_f32())) << "NHWC case " << i << ", " << channels << " channels";
    }
  }
}

// Concat and Split along the channels of NHWC values give the plain ops' values and stay NHWC.
TEST(ArmF32, NhwcValuesConcatAndSplitAsPlainOnes) {
  std::mt19937 rng(5);
  for (const Shape& shape : {Shape{1, 3, 4, 5}, Shape{2, 5, 3, 3}, Shape{1, 2, 7}}) {
    Shape wider = shape;
    wider[1] = 4;
    const Tensor a = plain_tensor(shape, uniform(rng, shape_numel(shape), -1, 1));
    const Tensor b = plain_tensor(wider, uniform(rng, shape_numel(wider), -1, 1));
    const Tensor an = as_nhwc(a), bn = as_nhwc(b);
    Shape joined = shape;
    joined[1] = shape[1] + 4;
    Tensor concat;
    ASSERT_TRUE(make_backend("arm")->concat()->run({&an, &bn}, 1, joined, concat));
    ASSERT_NE(arm::nhwc_float(concat), nullptr);
    const std::vector<float> values = concat.as_f32();
    const int64_t inner = shape_numel(shape) / (shape[0] * shape[1]);
    for (int64_t n = 0; n < shape[0]; ++n)
      for (int64_t c = 0; c < joined[1]; ++c)
        for (int64_t p = 0; p < inner; ++p) {
          const float expected = c < shape[1] ? a.f()[(n * shape[1] + c) * inner + p]
                                              : b.f()[(n * 4 + c - shape[1]) * inner + p];
          ASSERT_EQ(values[(n * joined[1] + c) * inner + p], expected);
        }
    std::vector<Tensor> parts(2);
    ASSERT_TRUE(make_backend("arm")->split()->run(concat, 1, {shape[1], 4}, parts));
    EXPECT_EQ(parts[0].as_f32(), a.as_f32());
    EXPECT_EQ(parts[1].as_f32(), b.as_f32());
    EXPECT_NE(arm::nhwc_float(parts[1]), nullptr);
  }
}

// A quantized model's Add of two NHWC code tensors (ops/code_add.cpp): the NEON kernel equals the
// scalar add_codes (TFLite's int8 Add) on every code, with sizes off the 16-code step, the extreme
// codes, equal scales (a multiplier of exactly one half: no right shift), scales far apart, clamps.
// A model's NHWC float input quantized as it lies (nhwc_float.cpp): the codes quantize_to_codes gives
// (moved by 128) for ties (half steps, rounded to even), values past the grid, ±Inf, −0, every length
// from empty to past two 16-value steps (the last values through a padded step); null where a value
// is NaN. And the Transpose a TFLite-derived model starts with keeps the image as it lies.
TEST(ArmInt8, NhwcFloatInputsQuantizeAsQuantizeLinear) {
  std::mt19937 rng(5);
  for (int64_t pixels : {1, 3, 5, 11, 12}) {
    for (int32_t zero : {0, 5, 128, 255}) {
      const float scale = 0.02f;
      const Shape shape{1, 3, 1, pixels};
      auto values = std::make_shared<arm::NhwcFloat>(shape);
      const int64_t n = 3 * pixels;
      for (int64_t k = 0; k < n; ++k) {
        const int64_t step = static_cast<int64_t>(std::uniform_int_distribution<int>(-300, 300)(rng));
        values->data()[k] = k % 4 == 0 ? (step + 0.5f) * scale : k % 4 == 1 ? step * scale * 1.37f : step * scale;
      }
      if (n > 4) values->data()[2] = INFINITY, values->data()[3] = -INFINITY, values->data()[4] = -0.f;
      std::vector<uint8_t> expected(static_cast<size_t>(n));
      ASSERT_TRUE(quantize_to_codes(values->data(), expected.data(), n, scale, static_cast<float>(zero)));
      const auto codes = std::dynamic_pointer_cast<arm::NhwcCodes>(values->quantized(scale, zero));
      ASSERT_TRUE(codes) << pixels << " pixels";
      EXPECT_TRUE(codes->on_grid(scale, zero));
      for (int64_t k = 0; k < n; ++k)
        ASSERT_EQ(codes->data()[k] + 128, expected[k]) << "value " << values->data()[k] << " zero point " << zero;
      values->data()[n - 1] = std::nanf("");
      EXPECT_FALSE(values->quantized(scale, zero)) << "a NaN has no code";
    }
  }
  auto backend = make_backend("arm");
  const std::vector<float> image = uniform(rng, 2 * 3 * 4 * 5, -1, 1);  // [2, 3, 4, 5] NHWC
  const auto kept = backend->from_nhwc(image.data(), {2, 5, 3, 4});
  ASSERT_TRUE(kept);
  std::vector<float> plain(image.size());
  kept->to_plain(plain.data());
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t c = 0; c < 5; ++c)
      for (int64_t p = 0; p < 12; ++p) ASSERT_EQ(plain[(i * 5 + c) * 12 + p], image[(i * 12 + p) * 5 + c]);
  EXPECT_FALSE(make_backend("reference")->from_nhwc(image.data(), {2, 5, 3, 4})) << "plain layouts keep the Transpose";
}

// Scratch memory of 1 KiB and more is reused from a per-thread cache by size class: a buffer freed
// and asked for again (same class) is the same block; moves hand the block over; small buffers and
// threads that allocate and free at once (blocks freed on another thread than their own) stay sound.
TEST(ArmScratch, BlocksAreReusedByClassAndThreadsStaySound) {
  const void* first = nullptr;
  {
    arm::Scratch<int8_t> a(3000);
    first = a.data();
    a[2999] = 1;
  }
  {
    arm::Scratch<int32_t> b(900);  // 3,600 bytes: the same 4 KiB class
    EXPECT_EQ(static_cast<const void*>(b.data()), first);
    arm::Scratch<int32_t> moved = std::move(b);
    EXPECT_EQ(b.data(), nullptr);
    EXPECT_EQ(static_cast<const void*>(moved.data()), first);
    arm::Scratch<int32_t> other(900);
    EXPECT_NE(static_cast<const void*>(other.data()), first) << "a block in use is not handed out twice";
    other = std::move(moved);
    EXPECT_EQ(static_cast<const void*>(other.data()), first);
  }
  arm::Scratch<float> empty(0), small(10);
  EXPECT_EQ(empty.data(), nullptr);
  small[9] = 1.f;
  std::vector<arm::Scratch<int8_t>> handed(64);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t, &handed] {
      for (int i = 0; i < 200; ++i) {
        arm::Scratch<int8_t> block(1000 + 997 * ((i * 7 + t) % 40));
        block[0] = static_cast<int8_t>(i);
        if (i % 13 == 0) handed[t * 16 + i / 13] = std::move(block);  // freed later, on the main thread
      }
    });
  for (auto& thread : threads) thread.join();
  handed.clear();
}

TEST(ArmInt8, CodeAddIsBitIdenticalToTheScalarReference) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> code(-128, 127), zero(0, 255);
  std::uniform_real_distribution<float> log_scale(-9, 1);
  int checked = 0;
  for (int i = 0; i < 40; ++i) {
    const Shape shape{pick(rng, {1, 2}), pick(rng, {1, 3, 16, 17, 64}), pick(rng, {1, 5, 8}), pick(rng, {1, 7, 8})};
    // i % 6 == 1: both inputs on one grid and the output's step twice theirs, so that odd sums of
    // codes land on half steps: ties, rounded away from zero
    const float sa = std::exp2(log_scale(rng)), sb = i % 5 == 0 || i % 6 == 1 ? sa : std::exp2(log_scale(rng)),
                so = i % 6 == 1 ? 2 * sa : std::exp2(log_scale(rng));
    const int32_t za = zero(rng), zb = zero(rng), zo = zero(rng);
    const int32_t lo = i % 3 == 0 ? zo : 0, hi = i % 4 == 0 ? std::min(255, zo + 40) : 255;
    CodeAddition p;
    try {
      p = prepare_code_addition(sa, za, sb, zb, so, zo, lo, hi);
    } catch (const InvalidArgument&) {
      continue;  // a multiplier past TFLite's range: the op computes in float
    }
    auto a = std::make_shared<arm::NhwcCodes>(shape, sa, za), b = std::make_shared<arm::NhwcCodes>(shape, sb, zb);
    const int64_t n = shape_numel(shape);
    for (int64_t k = 0; k < n; ++k) {
      a->data()[k] = static_cast<int8_t>(k % 7 == 0 ? -128 : k % 11 == 0 ? 127 : code(rng));
      b->data()[k] = static_cast<int8_t>(k % 5 == 0 ? 127 : code(rng));
    }
    const Tensor ta = arm::codes_tensor(shape, a), tb = arm::codes_tensor(shape, b);
    Tensor sum;
    const bool ran = make_backend("arm")->code_add(p)->run(ta, tb, so, sum);
    if (p.output_shift > 0) continue;  // the NEON form shifts right only; the op then adds plain codes
    ASSERT_TRUE(ran) << "case " << i;
    const auto* out = arm::nhwc_codes(sum);
    ASSERT_NE(out, nullptr);
    ASSERT_TRUE(sum.quant.is_per_tensor(so, zo));
    for (int64_t k = 0; k < n; ++k)
      ASSERT_EQ(out->data()[k] + 128, add_codes(p, a->data()[k] + 128, b->data()[k] + 128)) << "case " << i << " code " << k;
    ++checked;
  }
  EXPECT_EQ(checked, 40);  // scales within 2^10 of each other: every case in TFLite's range, right shifts only
}

// A quantized model's average pool of NHWC codes (ops/code_average_pool.cpp): the NEON kernel equals
// TFLite's integer average written out per window (average_codes of the file's codes over the taps
// inside the input) — int8 and uint8 files, channel counts off the 16-lane block, pads, strides,
// ceil_mode's overhang, global windows, the extreme codes, half steps (even tap counts).
TEST(ArmInt8, CodeAveragePoolIsTFLitesIntegerAverage) {
  std::mt19937 rng(13);
  std::uniform_int_distribution<int> code(-128, 127);
  for (int i = 0; i < 48; ++i) {
    PoolGeometry g{};
    g.kind = PoolGeometry::Kind::average;
    g.n = pick(rng, {1, 2});
    g.c = pick(rng, {1, 3, 16, 20, 35, 64});
    g.ih = pick(rng, {1, 5, 8, 25});
    g.iw = pick(rng, {1, 4, 7});
    if (i % 6 == 0) {  // global
      g.kh = g.ih, g.kw = g.iw, g.stride_h = g.stride_w = 1;
    } else {
      g.kh = std::min<int64_t>(g.ih, pick(rng, {1, 2, 3})), g.kw = std::min<int64_t>(g.iw, pick(rng, {1, 2, 3}));
      g.stride_h = pick(rng, {1, 2}), g.stride_w = pick(rng, {1, 2, 3});
      g.pad_top = std::min<int64_t>(g.kh - 1, pick(rng, {0, 1})), g.pad_left = std::min<int64_t>(g.kw - 1, pick(rng, {0, 1}));
      g.pad_bottom = g.pad_top, g.pad_right = g.pad_left;
    }
    g.oh = (g.ih + g.pad_top + g.pad_bottom - g.kh) / g.stride_h + 1;
    g.ow = (g.iw + g.pad_left + g.pad_right - g.kw + g.stride_w - 1) / g.stride_w + 1;  // ceil: an overhang
    if ((g.ow - 1) * g.stride_w >= g.iw + g.pad_left) --g.ow;
    g.pad_right = std::max(g.pad_right, (g.ow - 1) * g.stride_w + g.kw - g.iw - g.pad_left);
    const int32_t qmin = i % 2 ? -128 : 0;
    const Shape shape{g.n, g.c, g.ih, g.iw};
    auto x = std::make_shared<arm::NhwcCodes>(shape, 0.5f, 7);
    const int64_t n = shape_numel(shape);
    for (int64_t k = 0; k < n; ++k) x->data()[k] = static_cast<int8_t>(k % 9 == 0 ? -128 : k % 13 == 0 ? 127 : code(rng));
    Tensor y;
    ASSERT_TRUE(make_backend("arm")->code_average_pool(g, qmin)->run(arm::codes_tensor(shape, x), y)) << "case " << i;
    const auto* out = arm::nhwc_codes(y);
    ASSERT_NE(out, nullptr);
    ASSERT_TRUE(y.quant.is_per_tensor(0.5f, 7));
    ASSERT_EQ(y.shape, (Shape{g.n, g.c, g.oh, g.ow}));
    for (int64_t b = 0; b < g.n; ++b)
      for (int64_t oh = 0; oh < g.oh; ++oh)
        for (int64_t ow = 0; ow < g.ow; ++ow)
          for (int64_t c = 0; c < g.c; ++c) {
            int64_t sum = 0, count = 0;
            for (int64_t h = oh * g.stride_h - g.pad_top; h < oh * g.stride_h - g.pad_top + g.kh; ++h)
              for (int64_t w = ow * g.stride_w - g.pad_left; w < ow * g.stride_w - g.pad_left + g.kw; ++w)
                if (h >= 0 && h < g.ih && w >= 0 && w < g.iw) {
                  sum += x->data()[((b * g.ih + h) * g.iw + w) * g.c + c] + 128 + qmin;  // the file's code
                  ++count;
                }
            const int64_t expected = average_codes(sum, count) - qmin - 128;  // as an s8 code again
            ASSERT_EQ(out->data()[((b * g.oh + oh) * g.ow + ow) * g.c + c], expected)
                << "case " << i << " at " << b << "," << c << "," << oh << "," << ow;
          }
  }
}

// Sigmoid and Softmax on NEON (f32_exp_kernels.cpp) against the portable kernels: within 4 ulp (4.8e-7
// relative: 4 ulp at the bottom of a binade; the fused multiply-adds' rounding), NaN where they give
// NaN, the ends of the range, every count and column count off the 4 lanes.
TEST(ArmF32, SigmoidAndSoftmaxMatchThePortableKernels) {
  std::mt19937 rng(11);
  auto close = [](float ours, float theirs) {
    if (std::isnan(theirs)) return std::isnan(ours);
    return std::fabs(ours - theirs) <= 4.8e-7f * std::fabs(theirs) + 1e-30f;
  };
  for (int64_t count : {1, 3, 4, 7, 16, 33, 1000}) {
    std::vector<float> x = uniform(rng, count, -30, 30), ours(count), theirs(count);
    const float special[] = {0.f, -0.f, 1e-30f, 88.f, -88.f, 104.f, -110.f, INFINITY, -INFINITY, NAN};
    for (int64_t k = 0; k < count && k < 10; ++k) x[k * 7 % count] = special[k];
    make_backend("arm")->sigmoid()->run(x.data(), ours.data(), count);
    make_portable_sigmoid()->run(x.data(), theirs.data(), count);
    for (int64_t k = 0; k < count; ++k) ASSERT_TRUE(close(ours[k], theirs[k])) << count << " " << k << ": " << x[k];
  }
  for (const auto& [outer, len, inner] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
           {1, 16, 2100}, {2, 3, 5}, {1, 1, 7}, {3, 10, 4}, {1, 80, 9}, {2, 5, 1},
           {4423, 2, 1}, {3, 2, 1}, {8, 3, 1}, {9, 4, 1}}) {  // rows of 2-4 four at a time, the rest
    const int64_t n = outer * len * inner;
    std::vector<float> x = uniform(rng, n, -20, 20), ours(n), theirs(n);
    x[0] = NAN, x[n / 2] = 1e4f, x[n - 1] = -INFINITY;
    make_backend("arm")->softmax(outer, len, inner, false)->run(x.data(), ours.data());
    make_portable_softmax(outer, len, inner, false)->run(x.data(), theirs.data());
    for (int64_t k = 0; k < n; ++k) ASSERT_TRUE(close(ours[k], theirs[k])) << inner << " " << k << ": " << ours[k] << " vs " << theirs[k] << " from " << x[k];
  }
}

}  // namespace
}  // namespace edgequant::engine
#endif
