// Residual blocks (Conv -> Add -> activation), the shapes a Conv+Add "sum" fusion must get right or
// leave alone: every graph runs on every registered backend with the passes on and off, each result equal to
// the reference backend's without passes, twice in a row (an accumulation into a shared buffer —
// an input, an initializer, a value read later — shows up on the second run or in the inputs).
#include <gtest/gtest.h>

#include "engine/engine_test_util.h"

using namespace edgequant::engine;
using namespace edgequant::engine::test;

namespace {

void expect_agree(const Graph& graph, const std::vector<Tensor>& inputs, double tol = 1e-5) {
  std::vector<std::vector<float>> before;
  for (const Tensor& t : inputs) before.push_back(values_of(t));
  std::map<std::string, std::vector<float>> constants;
  for (const auto& kv : graph.initializers) constants[kv.first] = kv.second.as_f32();
  const std::vector<Tensor> expected = run_graph(graph, inputs, reference_backend(), false);
  for (const std::string& backend : all_backends())
    for (bool fuse : {false, true}) {
      SCOPED_TRACE(std::string(backend) + (fuse ? ", passes on" : ", passes off"));
      Engine engine(graph, options_for(backend, fuse));
      for (int round = 0; round < 3; ++round) {
        SCOPED_TRACE("run " + std::to_string(round + 1));
        const std::vector<Tensor> got = engine.run(inputs);
        ASSERT_EQ(got.size(), expected.size());
        for (size_t k = 0; k < got.size(); ++k) EXPECT_TRUE(all_close(got[k], expected[k], tol)) << "output " << k;
        for (size_t k = 0; k < inputs.size(); ++k) EXPECT_EQ(values_of(inputs[k]), before[k]) << "input " << k;
      }
    }
  for (const auto& kv : graph.initializers) EXPECT_EQ(kv.second.as_f32(), constants[kv.first]) << kv.first;
}

// With the passes on the graph comes to `nodes` nodes: the fused path is the one under test.
void expect_fused_to(const Graph& graph, size_t nodes) {
  EXPECT_EQ(Engine(graph, options_for(default_backend())).graph().nodes.size(), nodes) << "not fused as expected";
}

Node& conv3x3(GraphBuilder& b, const std::string& x, const std::string& y, int64_t ic, int64_t oc) {
  Node& n = b.conv(x, y, {oc, ic, 3, 3});
  n.attributes["pads"] = attr_ints({1, 1, 1, 1});
  return n;
}

const Shape kX = {2, 8, 7, 7};

TEST(EngineResidual, ConvAddInputRelu) {
  for (bool swapped : {false, true}) {
    SCOPED_TRACE(swapped ? "Add(x, conv)" : "Add(conv, x)");
    GraphBuilder b(51);
    b.input("x", kX).output("y");
    conv3x3(b, "x", "c", 8, 8);
    b.node("Add", swapped ? std::vector<std::string>{"x", "c"} : std::vector<std::string>{"c", "x"}, {"s"});
    b.node("Relu", {"s"}, {"y"});
    expect_agree(b.graph, {random_tensor(kX, b.rng)});
    expect_fused_to(b.graph, 1);
  }
}

// The usual ResNet basic block: the residual comes from a Conv (in the backend's layout).
TEST(EngineResidual, BasicBlockOnConvOutputs) {
  GraphBuilder b(52);
  b.input("x", kX).output("y");
  conv3x3(b, "x", "h0", 8, 8);
  b.node("Relu", {"h0"}, {"h"});
  conv3x3(b, "h", "c1", 8, 8);
  b.node("Relu", {"c1"}, {"r1"});
  conv3x3(b, "r1", "c2", 8, 8);
  b.node("Add", {"c2", "h"}, {"s"});
  b.node("Relu", {"s"}, {"y"});
  expect_agree(b.graph, {random_tensor(kX, b.rng)});
  expect_fused_to(b.graph, 3);
}

// The fused Conv reads the residual twice, as its input and as the residual: the sum may not
// accumulate into the buffer the Conv is reading.
TEST(EngineResidual, ResidualIsAlsoTheConvInput) {
  GraphBuilder b(70);
  b.input("x", kX).output("y");
  conv3x3(b, "x", "h0", 8, 8);
  b.node("Relu", {"h0"}, {"h"});
  conv3x3(b, "h", "c", 8, 8);
  b.node("Add", {"c", "h"}, {"y"});
  expect_agree(b.graph, {random_tensor(kX, b.rng)});
  expect_fused_to(b.graph, 2);
}

// Relu inside the Conv, then the Add: the sum must come after the activation.
TEST(EngineResidual, ActivationBeforeTheAdd) {
  GraphBuilder b(53);
  b.input("x", kX).output("y");
  conv3x3(b, "x", "c", 8, 8);
  b.node("Relu", {"c"}, {"r"});
  b.node("Add", {"r", "x"}, {"y"});
  const Tensor x = random_tensor(kX, b.rng);
  expect_agree(b.graph, {x});
  expect_fused_to(b.graph, 1);
  // x is in [-1, 1): Relu(conv) + x has negative values, Relu(conv + x) has none
  EXPECT_TRUE(any_negative(run_graph(b.graph, {x}, default_backend())[0]));
}

TEST(EngineResidual, ClipAfterTheAdd) {
  GraphBuilder b(54);
  b.input("x", kX).output("y");
  conv3x3(b, "x", "c", 8, 8);
  b.node("Add", {"x", "c"}, {"s"});
  b.constant("lo", tensor_of({}, {0.f}));
  b.constant("hi", tensor_of({}, {0.5f}));
  b.node("Clip", {"s", "lo", "hi"}, {"y"});
  expect_agree(b.graph, {random_tensor(kX, b.rng)});
  expect_fused_to(b.graph, 1);
}

// Activations on both sides of the sum, with bounds of their own.
TEST(EngineResidual, ClipBeforeAndAfterTheSum) {
  GraphBuilder b(66);
  b.input("x", kX).output("y");
  conv3x3(b, "x", "c", 8, 8);
  b.constant("zero", tensor_of({}, {0.f}));
  b.constant("six", tensor_of({}, {0.6f}));
  b.constant("lo", tensor_of({}, {-0.5f}));
  b.constant("hi", tensor_of({}, {0.4f}));
  b.node("Clip", {"c", "zero", "six"}, {"r"});
  b.node("Add", {"r", "x"}, {"s"});
  b.node("Clip", {"s", "lo", "hi"}, {"y"});
  expect_agree(b.graph, {random_tensor(kX, b.rng)});
  expect_fused_to(b.graph, 1);
}

// SiLU (x·sigmoid(x)) after the sum.
TEST(EngineResidual, SiluAfterTheSum) {
  GraphBuilder b(67);
  b.input("x", kX).output("y");
  conv3x3(b, "x", "c", 8, 8);
  b.node("Add", {"c", "x"}, {"s"});
  b.node("Sigmoid", {"s"}, {"g"});
  b.node("Mul", {"s", "g"}, {"y"});
  expect_agree(b.graph, {random_tensor(kX, b.rng)});  expect_fused_to(b.graph, 1);
}

// The residual is read again after the Add and is a graph output: it must stay intact.
TEST(EngineResidual, ResidualReadAgainLater) {
  GraphBuilder b(55);
  b.input("x", kX).output("y").output("h").output("z");
  conv3x3(b, "x", "h0", 8, 8);
  b.node("Relu", {"h0"}, {"h"});
  conv3x3(b, "h", "c", 8, 8);
  b.node("Add", {"c", "h"}, {"y"});
  b.node("Mul", {"h", "x"}, {"z"});
  expect_agree(b.graph, {random_tensor(kX, b.rng)});
  expect_fused_to(b.graph, 3);
}

// The residual shares its buffer with another value (Identity passes data through): the sum may
// not accumulate into it while that value is read later.
TEST(EngineResidual, ResidualSharedThroughIdentity) {
  GraphBuilder b(68);
  b.input("x", kX).output("y").output("z");
  conv3x3(b, "x", "h", 8, 8);
  b.node("Identity", {"h"}, {"h2"});
  conv3x3(b, "x", "c", 8, 8);
  b.node("Add", {"c", "h2"}, {"y"});
  b.node("Relu", {"h"}, {"z"});
  expect_agree(b.graph, {random_tensor(kX, b.rng)});
  expect_fused_to(b.graph, 4);
}

// The residual reaches the Add through a Reshape round trip (the data shared all along).
TEST(EngineResidual, ResidualThroughReshapes) {
  GraphBuilder b(69);
  b.input("x", kX).output("y");
  conv3x3(b, "x", "h", 8, 8);
  b.constant("flat", Tensor::from_i64({2, 8 * 7 * 7}));
  b.constant("back", Tensor::from_i64({2, 8, 7, 7}));
  b.node("Reshape", {"h", "flat"}, {"f"});
  b.node("Reshape", {"f", "back"}, {"h2"});
  conv3x3(b, "h", "c", 8, 8);
  b.node("Add", {"c", "h2"}, {"s"});
  b.node("Relu", {"s"}, {"y"});
  expect_agree(b.graph, {random_tensor(kX, b.rng)});
}

// The Conv output is itself a graph output and read by the Add.
TEST(EngineResidual, ConvOutputAlsoAGraphOutput) {
  GraphBuilder b(56);
  b.input("x", kX).output("c").output("y");
  conv3x3(b, "x", "c", 8, 8);
  b.node("Add", {"c", "x"}, {"s"});
  b.node("Relu", {"s"}, {"y"});
  expect_agree(b.graph, {random_tensor(kX, b.rng)});
}

// The Add's other operand is produced after the Conv in node order.
TEST(EngineResidual, OtherOperandProducedAfterTheConv) {
  GraphBuilder b(57);
  b.input("x", kX).output("y");
  conv3x3(b, "x", "c", 8, 8);
  conv3x3(b, "x", "d", 8, 8);
  b.node("Relu", {"d"}, {"r"});
  b.node("Add", {"c", "r"}, {"y"});
  expect_agree(b.graph, {random_tensor(kX, b.rng)});
  expect_fused_to(b.graph, 2);
}

// Add of two convolutions of the same input, then Relu.
TEST(EngineResidual, SumOfTwoConvs) {
  GraphBuilder b(58);
  b.input("x", kX).output("y");
  conv3x3(b, "x", "c", 8, 8);
  b.conv("x", "d", {8, 8, 1, 1});
  b.node("Add", {"c", "d"}, {"s"});
  b.node("Relu", {"s"}, {"y"});
  expect_agree(b.graph, {random_tensor(kX, b.rng)});
  expect_fused_to(b.graph, 2);
}

// Constant residual of the output's full shape: accumulating into it would change the model.
TEST(EngineResidual, ConstantResidual) {
  GraphBuilder b(59);
  b.input("x", kX).output("y");
  conv3x3(b, "x", "c", 8, 8);
  b.constant("k", random_tensor(kX, b.rng));
  b.node("Add", {"c", "k"}, {"s"});
  b.node("Relu", {"s"}, {"y"});
  expect_agree(b.graph, {random_tensor(kX, b.rng)});
}

// Adds that broadcast are no residual sum: a per-channel bias, a batch-1 residual, a
// single-channel Conv broadcast up to the other operand.
TEST(EngineResidual, BroadcastingAdds) {
  {
    SCOPED_TRACE("per-channel constant");
    GraphBuilder b(60);
    b.input("x", kX).output("y");
    conv3x3(b, "x", "c", 8, 8);
    b.constant("bias", random_tensor({1, 8, 1, 1}, b.rng));
    b.node("Add", {"c", "bias"}, {"s"});
    b.node("Relu", {"s"}, {"y"});
    expect_agree(b.graph, {random_tensor(kX, b.rng)});
  }
  {
    SCOPED_TRACE("batch-1 residual");
    GraphBuilder b(61);
    b.input("x", kX).input("r", {1, 8, 7, 7}).output("y");
    conv3x3(b, "x", "c", 8, 8);
    b.node("Add", {"r", "c"}, {"y"});
    expect_agree(b.graph, {random_tensor(kX, b.rng), random_tensor({1, 8, 7, 7}, b.rng)});
  }
  {
    SCOPED_TRACE("single-channel conv");
    GraphBuilder b(62);
    b.input("x", kX).output("y");
    conv3x3(b, "x", "c", 8, 1);
    b.node("Add", {"c", "x"}, {"s"});
    b.node("Relu", {"s"}, {"y"});
    expect_agree(b.graph, {random_tensor(kX, b.rng)});
  }
}

// Strided / grouped residual branches (a downsampling block: 1x1 stride-2 projection shortcut).
TEST(EngineResidual, DownsamplingBlock) {
  GraphBuilder b(63);
  b.input("x", {2, 8, 8, 8}).output("y");
  Node& c1 = b.conv("x", "c1", {16, 8, 3, 3});
  c1.attributes["pads"] = attr_ints({1, 1, 1, 1});
  c1.attributes["strides"] = attr_ints({2, 2});
  b.node("Relu", {"c1"}, {"r1"});
  Node& dw = b.conv("r1", "c2", {16, 1, 3, 3});
  dw.attributes["pads"] = attr_ints({1, 1, 1, 1});
  dw.attributes["group"] = attr_int(16);
  b.conv("x", "proj", {16, 8, 1, 1}).attributes["strides"] = attr_ints({2, 2});
  b.node("Add", {"c2", "proj"}, {"s"});
  b.node("Relu", {"s"}, {"y"});
  expect_agree(b.graph, {random_tensor({2, 8, 8, 8}, b.rng)});
  expect_fused_to(b.graph, 3);
}

// Two blocks in a row: the second block's residual is the first block's (fused) output.
TEST(EngineResidual, ChainedBlocks) {
  GraphBuilder b(64);
  b.input("x", {1, 16, 6, 6}).output("y");
  std::string in = "x";
  for (int k = 0; k < 3; ++k) {
    const std::string p = "b" + std::to_string(k) + "/";
    conv3x3(b, in, p + "c1", 16, 16);
    b.node("Relu", {p + "c1"}, {p + "r1"});
    conv3x3(b, p + "r1", p + "c2", 16, 16);
    b.node("Add", {p + "c2", in}, {p + "s"});
    b.node("Relu", {p + "s"}, {p + "out"});
    in = p + "out";
  }
  b.node("Identity", {in}, {"y"});  // goes too: the last fused conv writes y
  expect_agree(b.graph, {random_tensor({1, 16, 6, 6}, b.rng)});
  expect_fused_to(b.graph, 6);
}

// One engine, input shapes changing from run to run: kernels (and their cached outputs) are
// rebuilt for each new shape, and a shape seen before still gives its result.
TEST(EngineResidual, ShapeChangesBetweenRuns) {
  GraphBuilder b(71);
  b.input("x", {-1, 8, -1, -1}).output("y");
  conv3x3(b, "x", "h0", 8, 8);
  b.node("Relu", {"h0"}, {"h"});
  conv3x3(b, "h", "c", 8, 8);
  b.node("Add", {"c", "h"}, {"s"});
  b.node("Relu", {"s"}, {"r"});
  Node& pool = b.node("AveragePool", {"r"}, {"y"});
  pool.attributes["kernel_shape"] = attr_ints({3, 3});
  pool.attributes["strides"] = attr_ints({2, 2});
  pool.attributes["pads"] = attr_ints({1, 1, 1, 1});
  pool.attributes["ceil_mode"] = attr_int(1);
  pool.attributes["count_include_pad"] = attr_int(1);
  const std::vector<Shape> shapes = {{2, 8, 7, 7}, {1, 8, 9, 5}, {3, 8, 4, 6}, {2, 8, 7, 7}};
  std::vector<Tensor> inputs, expected;
  for (const Shape& shape : shapes) {
    inputs.push_back(random_tensor(shape, b.rng));
    expected.push_back(run_graph(b.graph, {inputs.back()}, reference_backend(), false)[0]);
  }
  for (const std::string& backend : all_backends()) {
    SCOPED_TRACE(backend);
    Engine engine(b.graph, options_for(backend));
    for (int round = 0; round < 2; ++round)
      for (size_t k = 0; k < shapes.size(); ++k)
        EXPECT_TRUE(all_close(engine.run({inputs[k]})[0], expected[k], 1e-5)) << shape_string(shapes[k]);
  }
}

// 1-D residual block.
TEST(EngineResidual, Conv1dBlock) {
  GraphBuilder b(65);
  b.input("x", {2, 6, 17}).output("y");
  b.conv("x", "c", {6, 6, 3}).attributes["pads"] = attr_ints({1, 1});
  b.node("Add", {"c", "x"}, {"s"});
  b.node("Relu", {"s"}, {"y"});
  expect_agree(b.graph, {random_tensor({2, 6, 17}, b.rng)});
  expect_fused_to(b.graph, 1);
}

}  // namespace
