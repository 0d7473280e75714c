// Static INT8 layers whose activation is not a clamp (swish, hardswish, hardsigmoid) requantize
// through a table, and a fused residual Add in fixed point too (backend/fixed_point_requantization.h, FixedPointRequantization::table): the sum
// goes to a fine grid of the pre-activation by TFLite's integer arithmetic, and its index reads the
// output code. Checked against the formula written here, and against the float requantization the
// layer had before: within one code everywhere, the same code almost everywhere.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "backend/fixed_point_requantization.h"
#include "backend/int8_support.h"

namespace edgequant::engine {
namespace {

struct Layer {
  QuantConfig q;
  ConvPostOps post;
  std::vector<float> weight_scales, bias;
};

Layer random_layer(std::mt19937& rng, Activation::Kind kind) {
  std::uniform_real_distribution<float> unit(0, 1);
  Layer l;
  l.q.mode = QuantConfig::Mode::int8_static;
  l.q.scale = 0.002f + 0.03f * unit(rng);
  l.q.zero_point = static_cast<int32_t>(255 * unit(rng));
  l.q.quantize_output = true;
  l.q.output_scale = std::exp2(-7 + 6 * unit(rng));
  l.q.output_zero_point = static_cast<int32_t>(20 + 60 * unit(rng));  // swish's outputs reach below 0
  l.post.activation.kind = kind;
  l.post.activation.alpha = kind == Activation::Kind::hardsigmoid ? 0.2f : 1.f / 6;
  l.post.activation.beta = 0.5f;
  for (int c = 0; c < 6; ++c) {
    l.weight_scales.push_back(0.001f + 0.01f * unit(rng));
    l.bias.push_back(unit(rng) - 0.5f);
  }
  return l;
}

TEST(ActivationTable, CodesFollowTheFormulaAndStayWithinOneCodeOfFloat) {
  std::mt19937 rng(7);
  for (Activation::Kind kind : {Activation::Kind::swish, Activation::Kind::hardswish, Activation::Kind::hardsigmoid}) {
    int64_t compared = 0, differ = 0;
    for (int layer = 0; layer < 20; ++layer) {
      const Layer l = random_layer(rng, kind);
      const auto r = prepare_fixed_point(l.q, l.weight_scales, l.bias.data(), l.post);
      ASSERT_TRUE(r) << "layer " << layer;
      ASSERT_EQ(r->table.size(), static_cast<size_t>(kActivationTableSize));
      EXPECT_EQ(r->min, 0);
      EXPECT_EQ(r->max, kActivationTableSize - 1);
      const quant::Affine out(activation_format(), quant::AffineParams{l.q.output_scale, l.q.output_zero_point});
      for (size_t c = 0; c < l.weight_scales.size(); ++c) {
        const double unit = double(l.q.scale) * l.weight_scales[c];  // one step of the sum
        std::uniform_real_distribution<double> x(-14, 4 + 255 * l.q.output_scale);  // beyond the table both ways
        for (int k = 0; k < 2000; ++k) {
          const int64_t sum = std::llround(x(rng) / unit);
          // the formula: the index on the grid of s_in·s_w / multiplier, clamped, then the table
          const int32_t index = requantize(*r, static_cast<int64_t>(c), sum);
          ASSERT_GE(index, 0);
          ASSERT_LE(index, kActivationTableSize - 1);
          EXPECT_EQ(output_code(*r, static_cast<int64_t>(c), sum), r->table[static_cast<size_t>(index)]);
          // the float requantization (the reference backend's expressions before the table)
          const float value = static_cast<float>(static_cast<double>(sum) * l.q.scale * l.weight_scales[c] + l.bias[c]);
          const int32_t exact = out.encode(apply_activation(l.post.activation, value));
          const int32_t ours = output_code(*r, static_cast<int64_t>(c), sum);
          ASSERT_LE(std::abs(ours - exact), 1) << "layer " << layer << " channel " << c << " sum " << sum;
          ++compared, differ += ours != exact;
        }
      }
    }
    // the table's steps are at most a quarter of an output step, typically far finer: few codes move
    // (measured 0.19 % swish, 0.17 % hardswish, 0.01 % hardsigmoid)
    EXPECT_LT(double(differ) / compared, 0.01) << static_cast<int>(kind) << ": " << differ << " of " << compared;
  }
}

// A fused residual Add in fixed point (FixedPointRequantization::residual): the layer's value in
// 1/256 output steps plus the residual code's, rounded once to the output grid; against the float
// requantization (value, + the residual's value, after_sum, encode), within one code, rarely off.
TEST(ActivationTable, ResidualSumsStayWithinOneCodeOfFloat) {
  std::mt19937 rng(13);
  std::uniform_int_distribution<int32_t> code(0, 255);
  for (Activation::Kind kind : {Activation::Kind::none, Activation::Kind::relu, Activation::Kind::swish,
                                Activation::Kind::hardswish}) {
    int64_t compared = 0, differ = 0;
    for (int layer = 0; layer < 20; ++layer) {
      Layer l = random_layer(rng, kind);
      l.post.sum = true;
      l.post.after_sum.kind = layer % 2 ? Activation::Kind::relu : Activation::Kind::none;
      l.q.residual_scale = l.q.output_scale * (0.5f + std::uniform_real_distribution<float>(0, 1)(rng));
      l.q.residual_zero_point = code(rng);
      const auto r = prepare_fixed_point(l.q, l.weight_scales, l.bias.data(), l.post);
      ASSERT_TRUE(r && r->residual) << "layer " << layer;
      const quant::Affine out(activation_format(), quant::AffineParams{l.q.output_scale, l.q.output_zero_point});
      for (size_t c = 0; c < l.weight_scales.size(); ++c) {
        const double unit = double(l.q.scale) * l.weight_scales[c];
        std::uniform_real_distribution<double> x(-6, 3 + 255 * l.q.output_scale);
        for (int k = 0; k < 1000; ++k) {
          const int64_t sum = std::llround(x(rng) / unit);
          const int32_t skip = code(rng);
          const float value = apply_activation(
              l.post.activation, static_cast<float>(static_cast<double>(sum) * l.q.scale * l.weight_scales[c] + l.bias[c]));
          const float residual = static_cast<float>(l.q.residual_scale * (skip - l.q.residual_zero_point));
          const int32_t exact = out.encode(apply_activation(l.post.after_sum, value + residual));
          const int32_t ours = residual_output_code(*r, static_cast<int64_t>(c), sum, skip);
          ASSERT_LE(std::abs(ours - exact), 1) << "layer " << layer << " channel " << c << " sum " << sum;
          ++compared, differ += ours != exact;
        }
      }
    }
    // measured: 0.1 % of codes (none, relu), 0.37 % (swish), 0.3 % (hardswish)
    EXPECT_LT(double(differ) / compared, 0.01) << static_cast<int>(kind) << ": " << differ << " of " << compared;
  }
}

TEST(ActivationTable, FloatRequantizationWhereTheTableCannotServe) {
  std::mt19937 rng(3);
  Layer l = random_layer(rng, Activation::Kind::swish);
  l.q.output_scale = 1e-5f;  // outputs within ±0.003, pre-activations to −20: the table too coarse
  EXPECT_FALSE(prepare_fixed_point(l.q, l.weight_scales, l.bias.data(), l.post));
  l = random_layer(rng, Activation::Kind::gelu);  // GELU has no table (yet): float requantization
  EXPECT_FALSE(prepare_fixed_point(l.q, l.weight_scales, l.bias.data(), l.post));
  l = random_layer(rng, Activation::Kind::swish);
  l.post.activation.scale = 2.f;  // an affine step after the activation: float it stays
  EXPECT_FALSE(prepare_fixed_point(l.q, l.weight_scales, l.bias.data(), l.post));
  l = random_layer(rng, Activation::Kind::hardswish);
  l.post.sum = true;
  l.post.after_sum.kind = Activation::Kind::swish;  // a residual sum, then an activation that is no clamp: float
  EXPECT_FALSE(prepare_fixed_point(l.q, l.weight_scales, l.bias.data(), l.post));
  // sums shifted left past int32 would wrap: 8,192 products of up to 255·128, multipliers above 2^3
  l = random_layer(rng, Activation::Kind::swish);
  l.q.scale = 0.03f, l.q.output_scale = 0.004f;
  auto weights = std::make_shared<QuantizedWeights>();
  weights->values.assign(l.weight_scales.size() * 8192, 1);
  weights->scales.assign(l.weight_scales.size(), 0.2f);
  l.q.weights = weights;
  EXPECT_FALSE(prepare_fixed_point(l.q, weights->scales, l.bias.data(), l.post));
  weights->values.resize(l.weight_scales.size() * 16);  // 16 products cannot: the table
  EXPECT_TRUE(prepare_fixed_point(l.q, weights->scales, l.bias.data(), l.post));
}

}  // namespace
}  // namespace edgequant::engine
