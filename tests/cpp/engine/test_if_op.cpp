// If's branches as programs of their own (ops/if.cpp, RunContext::subgraphs): the op asks the
// compiler once per set of captured shapes, runs what it made, keeps a few shapes, and falls back
// to running the branch's nodes where the compiler refuses. A counting compiler stands in for the
// engine's (session/engine.cpp), whose results the Python tests hold against ONNX Runtime.
#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "backend/registry.h"
#include "engine_test_util.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

// Returns x · 10 (a value no branch computes), so a test sees which path ran; shows its input to a
// calibration sink as "x", and plans one step.
class TimesTen : public SubgraphProgram {
 public:
  std::vector<Tensor> run(const std::vector<Tensor>& inputs, const ValueSink* calibration_sink) override {
    if (calibration_sink) (*calibration_sink)("x", inputs.at(0));
    Tensor y = Tensor::zeros_f32(inputs.at(0).shape, "test");
    for (int64_t k = 0; k < y.numel(); ++k) y.f()[k] = inputs[0].f()[k] * 10;
    return {y};
  }
  std::vector<PlanStep> plan() const override { return {{"times_ten", "Mul", "int8_static"}}; }
};

class CountingCompiler : public SubgraphCompiler {
 public:
  bool refuse = false;
  int mode = 0;
  mutable int compiled = 0;
  int variant() const override { return mode; }
  mutable std::vector<std::string> last_names;
  mutable std::string last_key;
  std::unique_ptr<SubgraphProgram> compile(const Graph& graph, const std::string& key, const std::vector<std::string>& names,
                                           const std::vector<const Tensor*>& inputs) const override {
    ++compiled;
    last_names = names;
    last_key = key;
    EXPECT_EQ(names.size(), inputs.size());
    EXPECT_TRUE(graph.initializers.count("w")) << "a captured constant is the branch's own";
    if (refuse) return nullptr;
    return std::make_unique<TimesTen>();
  }
};

// cond ? x + w : x - w, both branches reading x and the constant w of the enclosing graph.
Node if_node(Graph& outer) {
  Tensor w = Tensor::zeros_f32({1}, "w");
  w.f()[0] = 1;
  outer.initializers["w"] = w;
  auto branch = [](const char* op, const char* out) {
    auto g = std::make_shared<Graph>();
    Node n;
    n.op_type = op, n.name = out, n.inputs = {"x", "w"}, n.outputs = {out};
    g->nodes.push_back(n);
    ValueInfo info;
    info.name = out;
    g->outputs.push_back(info);
    return g;
  };
  Node node;
  node.op_type = "If", node.name = "choose", node.inputs = {"cond", "x", "w"}, node.outputs = {"y"};
  Attribute then_branch, else_branch, captures;
  then_branch.kind = else_branch.kind = Attribute::Kind::graph;
  then_branch.graph = branch("Add", "t");
  else_branch.graph = branch("Sub", "e");
  captures.kind = Attribute::Kind::i, captures.i = 1;
  node.attributes["then_branch"] = then_branch;
  node.attributes["else_branch"] = else_branch;
  node.attributes["_captures_from"] = captures;
  return node;
}

float run_if(Op& op, RunContext& ctx, int64_t cond, const Tensor& x, const Tensor& w) {
  Tensor c = Tensor::zeros_i64({}, "cond");
  c.i()[0] = cond;
  std::vector<Tensor> out(1);
  op.run(ctx, {&c, &x, &w}, out);
  return out[0].f()[0];
}

// The If op over if_node, run on the reference backend with a counting compiler.
struct CompiledIf {
  Graph outer;
  Node node = if_node(outer);
  std::unique_ptr<Op> op = make_op(node, outer);
  std::unique_ptr<Backend> backend = make_backend("reference");
  CountingCompiler compiler;
  RunContext ctx{*backend, nullptr};
  CompiledIf() { ctx.subgraphs = &compiler; }
};

TEST(IfOp, CompiledBranchesRunAndAreKeptPerShape) {
  CompiledIf f;
  auto& [outer, node, op, backend, compiler, ctx] = f;
  Tensor x1 = Tensor::zeros_f32({1}, "x"), x3 = Tensor::zeros_f32({3}, "x");
  x1.f()[0] = x3.f()[0] = 2;
  const Tensor& w = outer.initializers.at("w");
  EXPECT_EQ(run_if(*op, ctx, 1, x1, w), 20.f);  // the program's answer, not the branch's 3
  EXPECT_EQ(compiler.compiled, 1);
  EXPECT_EQ(compiler.last_names, std::vector<std::string>{"x"});  // w is a constant: not fed
  EXPECT_EQ(run_if(*op, ctx, 1, x1, w), 20.f);
  EXPECT_EQ(compiler.compiled, 1) << "the same shapes: compiled once";
  EXPECT_EQ(run_if(*op, ctx, 1, x3, w), 20.f);
  EXPECT_EQ(compiler.compiled, 2) << "a new shape: compiled for it";
  EXPECT_EQ(run_if(*op, ctx, 1, x1, w), 20.f);
  EXPECT_EQ(compiler.compiled, 2) << "the first shape is still kept";
  EXPECT_EQ(run_if(*op, ctx, 0, x1, w), 20.f);
  EXPECT_EQ(compiler.compiled, 3) << "the other branch: a program of its own";
  compiler.mode = 1;
  EXPECT_EQ(run_if(*op, ctx, 0, x1, w), 20.f);
  EXPECT_EQ(compiler.compiled, 4) << "the enclosing engine changed mode: compiled again";
}

TEST(IfOp, CalibrationAndPlanNameTheBranch) {
  CompiledIf f;
  auto& [outer, node, op, backend, compiler, ctx] = f;
  std::map<std::string, float> seen;
  const ValueSink sink = [&](const std::string& name, const Tensor& t) { seen[name] = t.f()[0]; };
  EXPECT_TRUE(op->subgraph_plan().empty()) << "no branch ran yet";
  Tensor x = Tensor::zeros_f32({1}, "x");
  x.f()[0] = 2;
  run_if(*op, ctx, 0, x, outer.initializers.at("w"));
  EXPECT_EQ(compiler.last_key, "choose::else_branch");
  EXPECT_TRUE(seen.empty()) << "no sink: nothing observed";
  ctx.calibration_sink = &sink;
  x.f()[0] = 3;
  run_if(*op, ctx, 1, x, outer.initializers.at("w"));
  EXPECT_EQ(compiler.last_key, "choose::then_branch");
  EXPECT_EQ(seen, (std::map<std::string, float>{{"choose::then_branch::x", 3.f}}));
  const std::vector<PlanStep> plan = op->subgraph_plan();
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].name, "choose::then_branch::times_ten");
  EXPECT_EQ(plan[0].precision, "int8_static");
}

TEST(IfOp, RefusedOrWithoutCompilerTheNodesRun) {
  Graph outer;
  const Node node = if_node(outer);
  std::unique_ptr<Backend> backend = make_backend("reference");
  Tensor x = Tensor::zeros_f32({1}, "x");
  x.f()[0] = 2;
  const Tensor& w = outer.initializers.at("w");
  for (bool with_compiler : {false, true}) {
    std::unique_ptr<Op> op = make_op(node, outer);
    CountingCompiler compiler;
    compiler.refuse = true;
    RunContext ctx{*backend, nullptr};
    if (with_compiler) ctx.subgraphs = &compiler;
    EXPECT_EQ(run_if(*op, ctx, 1, x, w), 3.f);
    EXPECT_EQ(run_if(*op, ctx, 0, x, w), 1.f);
    EXPECT_EQ(run_if(*op, ctx, 1, x, w), 3.f);
    EXPECT_EQ(compiler.compiled, with_compiler ? 2 : 0) << "a refusal is remembered, not asked again";
  }
}

}  // namespace
}  // namespace edgequant::engine
