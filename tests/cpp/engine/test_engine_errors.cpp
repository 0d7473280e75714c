// Bad inputs and unsupported graphs: InvalidArgument with a message that names what is wrong.
#include <gtest/gtest.h>

#include "common/error.h"
#include "engine/engine_test_util.h"

using namespace edgequant::engine;
using namespace edgequant::engine::test;
using edgequant::InvalidArgument;

namespace {

// Runs `f`, expecting InvalidArgument whose message contains every one of `parts`.
template <class F>
void expect_invalid(F f, std::initializer_list<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "no exception";
  } catch (const InvalidArgument& e) {
    for (const std::string& part : parts)
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << "'" << part << "' not in: " << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not InvalidArgument: " << e.what();
  }
}

Graph conv_graph(const Shape& x_shape) {
  GraphBuilder b(81);
  b.input("x", x_shape).output("y");
  b.conv("x", "y", {4, 3, 3, 3}, true).name = "my_conv";
  return b.graph;
}

class EngineInputs : public ::testing::TestWithParam<std::string> {};

TEST_P(EngineInputs, AreChecked) {
  Engine engine(conv_graph({-1, 3, 8, 8}), options_for(GetParam()));
  std::mt19937 rng(1);
  const Tensor good = random_tensor({2, 3, 8, 8}, rng);
  EXPECT_EQ(engine.run({good})[0].shape, (Shape{2, 4, 6, 6}));
  EXPECT_EQ(engine.run({random_tensor({5, 3, 8, 8}, rng)})[0].shape, (Shape{5, 4, 6, 6}));  // -1: any batch
  expect_invalid([&] { engine.run({}); }, {"takes 1 input(s), got 0"});
  expect_invalid([&] { engine.run({good, good}); }, {"takes 1 input(s), got 2"});
  expect_invalid([&] { engine.run({Tensor::zeros_i64({2, 3, 8, 8})}); }, {"'x'", "float32", "int64"});
  expect_invalid([&] { engine.run({random_tensor({3, 8, 8}, rng)}); }, {"'x'", "rank 4"});
  expect_invalid([&] { engine.run({random_tensor({1, 2, 3, 8, 8}, rng)}); }, {"'x'", "rank 4"});
  expect_invalid([&] { engine.run({random_tensor({2, 3, 8, 9}, rng)}); }, {"'x'", "[2, 3, 8, 9]", "[-1, 3, 8, 8]"});
  expect_invalid([&] { engine.run({random_tensor({2, 4, 8, 8}, rng)}); }, {"[2, 4, 8, 8]"});
  EXPECT_EQ(engine.run({good})[0].shape, (Shape{2, 4, 6, 6})) << "a rejected run broke the engine";
}

INSTANTIATE_TEST_SUITE_P(Engine, EngineInputs, ::testing::ValuesIn(all_backends()));

// Dims the model leaves open reach the ops: their errors name the node.
TEST(EngineErrors, OpErrorsNameTheNode) {
  Engine engine(conv_graph({-1, -1, -1, -1}), options_for(default_backend()));
  std::mt19937 rng(2);
  expect_invalid([&] { engine.run({random_tensor({1, 5, 8, 8}, rng)}); }, {"Conv node 'my_conv'", "5 channels"});
  expect_invalid([&] { engine.run({random_tensor({1, 3, 2, 8}, rng)}); }, {"Conv node 'my_conv'", "smaller than the kernel"});
  EXPECT_EQ(engine.run({random_tensor({1, 3, 3, 3}, rng)})[0].shape, (Shape{1, 4, 1, 1}));

  GraphBuilder b(82);
  b.input("a", {-1, -1}).input("b", {-1, -1}).output("y");
  b.node("Add", {"a", "b"}, {"y"}, "the_add");
  Engine add(b.graph, options_for(reference_backend()));
  expect_invalid([&] { add.run({random_tensor({2, 3}, rng), random_tensor({2, 4}, rng)}); },
                 {"Add node 'the_add'", "do not broadcast"});
}

TEST(EngineErrors, UnsupportedOpNamesOpAndNode) {
  GraphBuilder b(83);
  b.input("x", {1, 4}).output("y");
  b.node("Relu", {"x"}, {"r"});
  b.node("Einsum", {"r"}, {"y"}, "my_einsum");
  for (const std::string& backend : all_backends())
    expect_invalid([&] { Engine(b.graph, options_for(backend)); }, {"unsupported op 'Einsum' (node 'my_einsum')"});
}

TEST(EngineErrors, BadNodesAreRejectedAtConstruction) {
  {
    GraphBuilder b(84);  // weights that are an input, not an initializer
    b.input("x", {1, 3, 8, 8}).input("w", {4, 3, 3, 3}).output("y");
    b.node("Conv", {"x", "w"}, {"y"}, "c");
    expect_invalid([&] { Engine(b.graph, options_for(default_backend())); }, {"Conv node 'c'", "initializer"});
  }
  {
    GraphBuilder b(85);
    b.input("x", {1, 3, 8, 8}).output("y");
    b.conv("x", "y", {4, 3, 3, 3}).attributes["group"] = attr_int(3);  // 4 output channels, 3 groups
    expect_invalid([&] { Engine(b.graph, options_for(default_backend())); }, {"Conv node", "group"});
  }
  {
    GraphBuilder b(86);
    b.input("x", {1, 3, 8, 8}).output("y");
    b.conv("x", "y", {4, 3, 3, 3}).attributes["pads"] = attr_ints({1, 1});
    expect_invalid([&] { Engine(b.graph, options_for(default_backend())); }, {"Conv node", "pads"});
  }
  {
    GraphBuilder b(87);
    b.input("x", {1, 3, 8, 8}).output("y");
    b.conv("x", "y", {4, 3, 3, 3}).attributes["strides"] = attr_ints({0, 1});
    expect_invalid([&] { Engine(b.graph, options_for(default_backend())); }, {"Conv node", "strides"});
  }
  {
    GraphBuilder b(88);
    b.input("x", {1, 3, 8, 8}).output("y");
    Node& pool = b.node("MaxPool", {"x"}, {"y"}, "p");
    pool.attributes["kernel_shape"] = attr_ints({3, 3, 3});
    expect_invalid([&] { Engine(b.graph, options_for(default_backend())); }, {"MaxPool node 'p'"});
  }
}

TEST(EngineErrors, BadOptions) {
  expect_invalid([] { Engine(conv_graph({1, 3, 8, 8}), options_for("tpu")); }, {"tpu"});
  Engine engine(conv_graph({1, 3, 8, 8}), options_for(default_backend()));
  EXPECT_THROW(engine.set_threads(-1), InvalidArgument);
  engine.set_threads(2);
  std::mt19937 rng(3);
  EXPECT_EQ(engine.run({random_tensor({1, 3, 8, 8}, rng)})[0].shape, (Shape{1, 4, 6, 6}));
}

}  // namespace
