// The INT8 planner on graphs described only by what their ops declare (graph/int8_plan.h): no op
// types, so any op declaring the same traits is planned the same way.
#include <gtest/gtest.h>

#include "graph/int8_plan.h"

namespace edgequant::engine {
namespace {

Int8Traits conv(bool residual = false) {
  Int8Traits t;
  t.quantized = true;
  t.u8_inputs = {0};
  t.u8_output = true;
  if (residual) {
    t.residual_input = 1;
    t.u8_inputs.push_back(1);
  }
  return t;
}

Int8Traits pass_through(std::vector<int> inputs) {
  Int8Traits t;
  t.passes_u8 = true;
  t.u8_inputs = std::move(inputs);
  return t;
}

Int8Traits dense() {  // quantized, but reads float
  Int8Traits t;
  t.quantized = true;
  return t;
}

const QuantConfig::Mode kStatic = QuantConfig::Mode::int8_static;

// slots: 0 x -> conv -> 1 -> split -> 2, 3 -> conv, conv -> 4, 5 -> concat -> 6 -> dense -> 7 (output)
std::vector<Int8Step> chain() {
  return {{{0}, {1}, conv()},           {{1}, {2, 3}, pass_through({0})}, {{2}, {4}, conv()},
          {{3}, {5}, conv()},           {{4, 5}, {6}, pass_through({0, 1})}, {{6}, {7}, dense()}};
}

TEST(Int8Plan, PassThroughOpsJoinOneGroup) {
  const Int8Plan plan(chain(), 8, {7});
  EXPECT_EQ(plan.group_of(1), plan.group_of(2));
  EXPECT_EQ(plan.group_of(1), plan.group_of(3));
  EXPECT_EQ(plan.group_of(4), plan.group_of(6));
  EXPECT_EQ(plan.group_of(5), plan.group_of(6));
  EXPECT_NE(plan.group_of(0), plan.group_of(1));
  EXPECT_NE(plan.group_of(6), plan.group_of(7));
}

TEST(Int8Plan, U8FlowsWhereEveryReaderTakesIt) {
  const Int8Plan plan(chain(), 8, {7});
  std::map<int, std::pair<float, int32_t>> params;
  for (int s : {0, 1, 4, 6}) params[plan.group_of(s)] = {0.5f + s, s};
  const std::vector<QuantConfig> q = plan.configs(kStatic, params);
  ASSERT_EQ(q.size(), 6u);
  EXPECT_TRUE(q[0].quantize_output) << "conv -> split -> convs: u8";
  EXPECT_EQ(q[0].output_scale, params.at(plan.group_of(1)).first);
  EXPECT_FALSE(q[2].quantize_output) << "concat -> dense: the dense layer reads float";
  EXPECT_FALSE(q[3].quantize_output);
  EXPECT_EQ(q[2].scale, params.at(plan.group_of(1)).first);
  EXPECT_EQ(q[5].mode, kStatic);
  EXPECT_EQ(q[1].mode, QuantConfig::Mode::f32) << "a pass-through op runs no kernel of its own";
  // Dynamic: every quantized step dynamic, nothing quantized on output.
  for (const QuantConfig& c : plan.configs(QuantConfig::Mode::int8_dynamic, {}))
    EXPECT_FALSE(c.quantize_output);
  EXPECT_EQ(plan.configs(QuantConfig::Mode::int8_dynamic, {})[0].mode, QuantConfig::Mode::int8_dynamic);
}

TEST(Int8Plan, GraphOutputsAndUncalibratedGroupsStayFloat) {
  // 0 -> conv -> 1 -> conv -> 2; slot 1 a graph output too
  const std::vector<Int8Step> steps = {{{0}, {1}, conv()}, {{1}, {2}, conv()}};
  std::map<int, std::pair<float, int32_t>> params{{0, {1.f, 0}}, {1, {2.f, 3}}};
  EXPECT_TRUE(Int8Plan(steps, 3, {2}).configs(kStatic, params)[0].quantize_output);
  EXPECT_FALSE(Int8Plan(steps, 3, {1, 2}).configs(kStatic, params)[0].quantize_output);
}

TEST(Int8Plan, ResidualMustBeU8ForAU8Output) {
  // 0 -> conv -> 1; conv(1, residual 0) -> 2 -> conv -> 3. The residual 0 is a graph input
  // (float), so the summing conv writes float; with a u8 residual it writes u8.
  const std::vector<Int8Step> steps = {{{0}, {1}, conv()}, {{1, 0}, {2}, conv(true)}, {{2}, {3}, conv()}};
  std::map<int, std::pair<float, int32_t>> params{{0, {1.f, 0}}, {1, {2.f, 3}}, {2, {3.f, 4}}};
  EXPECT_FALSE(Int8Plan(steps, 4, {3}).configs(kStatic, params)[1].quantize_output);
  const std::vector<Int8Step> u8_residual = {
      {{0}, {1}, conv()}, {{1}, {4}, conv()}, {{4, 1}, {2}, conv(true)}, {{2}, {3}, conv()}};
  params[4] = {5.f, 6};
  const auto q = Int8Plan(u8_residual, 5, {3}).configs(kStatic, params);
  EXPECT_TRUE(q[0].quantize_output);
  ASSERT_TRUE(q[2].quantize_output);
  EXPECT_EQ(q[2].residual_scale, 2.f);
  EXPECT_EQ(q[2].residual_zero_point, 3);
}

// A quantized model's QuantizeLinear -> DequantizeLinear pair: its output lies on its grid, so codes
// there serve a float reader too (dequantized: the same values), and on float data it quantizes itself.
Int8Traits pair() {
  Int8Traits t = pass_through({0});
  t.rounds_to_grid = true;
  return t;
}

TEST(Int8Plan, CodesOnTheirGridServeFloatReadersToo) {
  // 0 -> conv -> 1 -> pair -> 2 -> conv -> 3 (output); 2 -> float op -> 4 -> pair -> 5 -> conv -> 6 (output)
  auto steps = [](Int8Traits boundary) {
    return std::vector<Int8Step>{{{0}, {1}, conv()},     {{1}, {2}, boundary}, {{2}, {3}, conv()},
                                 {{2}, {4}, Int8Traits{}}, {{4}, {5}, boundary}, {{5}, {6}, conv()}};
  };
  const Int8Plan plan(steps(pair()), 7, {3, 6});
  std::map<int, std::pair<float, int32_t>> params{{plan.group_of(0), {1.f, 0}}, {plan.group_of(1), {2.f, 3}},
                                                  {plan.group_of(2), {2.f, 3}}, {plan.group_of(5), {4.f, 5}}};
  std::vector<bool> u8;
  const auto q = plan.configs(kStatic, params, {}, &u8);
  EXPECT_NE(plan.group_of(1), plan.group_of(2)) << "a pair starts a group of its own";
  EXPECT_TRUE(q[0].quantize_output) << "the conv's codes reach a conv and, through the pair, a float op";
  EXPECT_TRUE(u8[2]);
  EXPECT_TRUE(q[1].quantize_output) << "u8 in: the pair passes codes of its grid, moves others to it";
  EXPECT_EQ(q[1].output_scale, 2.f);
  ASSERT_TRUE(q[4].quantize_output) << "float in: the pair writes the codes itself";
  EXPECT_EQ(q[4].output_scale, 4.f);
  EXPECT_TRUE(u8[5]);
  EXPECT_FALSE(u8[4]);
  // A pass-through op that does not round to its grid (a Split): its float reader keeps it float.
  const Int8Plan plain(steps(pass_through({0})), 7, {3, 6});
  const auto p = plain.configs(kStatic, params);
  EXPECT_FALSE(p[0].quantize_output);
  EXPECT_FALSE(p[4].quantize_output);
}

}  // namespace
}  // namespace edgequant::engine
