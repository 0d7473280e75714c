// If with a condition computed at run time (a constant one is inlined at load, see
// graph/constant_folding.h). The chosen branch runs as an engine of its own (RunContext::subgraphs),
// compiled on its first run for the shapes it captures: its shape arithmetic folds away and its
// convolutions fuse and keep the backend's layouts as a whole model's do (Silero VAD, whose network
// is one such branch, ran 8x slower op by op). Where no compiler is at hand or it refuses the branch,
// its nodes run in order with ops built once per branch. The values a branch reads from the
// enclosing graph are the node's inputs from `_captures_from` on (onnx/loader.cpp), matched by name.
// Calibration sees into a compiled branch: its calibration tensors reach the enclosing run's sink as
// "subgraph_key::tensor", and static INT8 compiles the branch with those ranges.
#include <map>

#include "ops/op.h"

namespace edgequant::engine {
namespace {

// A branch compiled for one compiler variant and set of captured types and shapes (program nullptr:
// refused).
struct Compiled {
  int variant;
  std::vector<DType> dtypes;
  std::vector<Shape> shapes;
  std::shared_ptr<SubgraphProgram> program;
};

// One branch: its graph (the model's opset), an op per node, and its compiled forms.
struct Branch {
  std::string key;  // subgraph_key
  std::shared_ptr<const Graph> graph;
  std::vector<std::unique_ptr<Op>> ops;
  std::vector<Compiled> compiled;  // the most recent last; a few kept (shapes that alternate)
};

constexpr size_t kCompiledPerBranch = 4;

class If : public Op {
 public:
  If(const Node& node, const Graph& graph) : Op(node), opset_(graph.opset) {
    check(!node.inputs.empty() && !node.inputs[0].empty(), "the condition (input 0) is missing");
    captures_from_ = static_cast<size_t>(node.attr_i("_captures_from", 1));
    check(captures_from_ == 1 && captures_from_ <= node.inputs.size(), "expects 1 input (the condition)");
    // Captured constants (weights of the enclosing graph) become the branches' own initializers, so
    // that a Conv in a branch has its weights at load; the other captures are fed at run time.
    for (size_t k = captures_from_; k < node.inputs.size(); ++k) {
      auto it = graph.initializers.find(node.inputs[k]);
      if (it != graph.initializers.end()) outer_constants_.insert(*it);
      else if (!node.inputs[k].empty()) fed_.push_back(k);
    }
    then_ = build("then_branch");
    else_ = build("else_branch");
  }

  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& condition = input(inputs, 0);
    check(condition.numel() == 1, [&] { return "the condition must hold one value, got shape " + shape_string(condition.shape); });
    const bool take_then = condition.dtype == DType::f32 ? condition.f()[0] != 0.0f : condition.i()[0] != 0;
    Branch& branch = take_then ? then_ : else_;
    if (ctx.subgraphs)
      if (std::shared_ptr<SubgraphProgram> program = compiled(*ctx.subgraphs, branch, inputs)) {
        std::vector<Tensor> captured;
        for (size_t k : fed_) captured.push_back(plain(*inputs[k]));
        ValueSink prefixed;
        if (ctx.calibration_sink)
          prefixed = [&](const std::string& name, const Tensor& values) {
            (*ctx.calibration_sink)(branch.key + "::" + name, values);
          };
        std::vector<Tensor> results = program->run(captured, ctx.calibration_sink ? &prefixed : nullptr);
        last_branch_ = &branch;
        last_program_ = std::move(program);
        for (size_t k = 0; k < node_.outputs.size(); ++k) outputs[k] = std::move(results[k]);
        return;
      }
    last_branch_ = &branch;
    last_program_.reset();
    run_nodes(ctx, branch, inputs, outputs);
  }

  std::vector<PlanStep> subgraph_plan() const override {
    if (!last_program_) return {};
    std::vector<PlanStep> steps = last_program_->plan();
    for (PlanStep& step : steps) step.name = last_branch_->key + "::" + step.name;
    return steps;
  }

 private:
  // The branch's program for this run's captured types and shapes, compiled on first sight;
  // nullptr where the compiler refused it (or a value is missing).
  std::shared_ptr<SubgraphProgram> compiled(const SubgraphCompiler& compiler, Branch& branch,
                                            const std::vector<const Tensor*>& inputs) {
    std::vector<DType> dtypes;
    std::vector<Shape> shapes;
    std::vector<std::string> names;
    std::vector<const Tensor*> captured;
    for (size_t k : fed_) {
      if (k >= inputs.size() || !inputs[k]) return nullptr;
      dtypes.push_back(inputs[k]->dtype);
      shapes.push_back(inputs[k]->shape);
    }
    for (Compiled& c : branch.compiled)
      if (c.variant == compiler.variant() && c.dtypes == dtypes && c.shapes == shapes) return c.program;
    for (size_t k : fed_) names.push_back(node_.inputs[k]), captured.push_back(inputs[k]);
    Compiled c{compiler.variant(), std::move(dtypes), std::move(shapes),
               compiler.compile(*branch.graph, branch.key, names, captured)};
    if (branch.compiled.size() == kCompiledPerBranch) branch.compiled.erase(branch.compiled.begin());
    branch.compiled.push_back(std::move(c));
    return branch.compiled.back().program;
  }

  // A captured value as an engine input takes it: plain float32 (not a backend layout, not codes).
  static Tensor plain(const Tensor& t) {
    if (!t.is_quantized() && !(t.dtype == DType::f32 && t.native)) return t;
    Tensor p = t.as_float();
    p.materialize();
    p.native.reset();
    return p;
  }

  void run_nodes(RunContext& ctx, Branch& branch, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) {
    std::map<std::string, const Tensor*> outer;  // captured values and the branch's initializers
    for (size_t k = captures_from_; k < inputs.size(); ++k)
      if (inputs[k]) outer[node_.inputs[k]] = inputs[k];
    for (const auto& kv : branch.graph->initializers) outer[kv.first] = &kv.second;
    std::map<std::string, Tensor> values;  // computed in the branch
    auto find = [&](const std::string& name) -> const Tensor* {
      auto it = values.find(name);
      if (it != values.end()) return &it->second;
      auto ot = outer.find(name);
      return ot == outer.end() ? nullptr : ot->second;
    };
    RunContext inner{ctx.backend, nullptr};  // branch inputs are never taken over: outer ops may read them
    inner.subgraphs = ctx.subgraphs;
    for (size_t k = 0; k < branch.ops.size(); ++k) {
      const Node& n = branch.graph->nodes[k];
      std::vector<const Tensor*> in;
      for (const std::string& name : n.inputs) in.push_back(name.empty() ? nullptr : find(name));
      std::vector<Tensor> out(n.outputs.size());
      branch.ops[k]->run(inner, in, out);
      for (size_t o = 0; o < n.outputs.size() && o < produced_outputs(n); ++o)
        if (!n.outputs[o].empty()) values[n.outputs[o]] = std::move(out[o]);
    }
    for (size_t k = 0; k < node_.outputs.size(); ++k) {
      const std::string& name = branch.graph->outputs[k].name;
      const Tensor* t = find(name);
      check(t != nullptr, [&] { return "branch output '" + name + "' was not computed"; });
      outputs[k] = *t;
    }
  }

  Branch build(const std::string& key) {
    auto it = node_.attributes.find(key);
    check(it != node_.attributes.end() && it->second.graph, [&] { return "subgraph attribute '" + key + "' is missing"; });
    Branch branch;
    branch.key = subgraph_key(node_, key);
    auto graph = std::make_shared<Graph>(*it->second.graph);
    graph->opset = opset_;  // a subgraph is read without one: the model's
    for (const auto& kv : outer_constants_) graph->initializers.insert(kv);  // a name of its own wins
    branch.graph = std::move(graph);
    check(branch.graph->outputs.size() == node_.outputs.size(),
          [&] { return key + " has " + std::to_string(branch.graph->outputs.size()) + " outputs, the node " +
              std::to_string(node_.outputs.size()); });
    for (const Node& n : branch.graph->nodes) branch.ops.push_back(make_op(n, *branch.graph));
    return branch;
  }

  int64_t opset_;
  size_t captures_from_ = 1;
  std::map<std::string, Tensor> outer_constants_;
  std::vector<size_t> fed_;  // the node's inputs fed to a compiled branch: captures that are not constants
  Branch then_, else_;
  const Branch* last_branch_ = nullptr;  // the branch that ran last, and its program if compiled
  std::shared_ptr<SubgraphProgram> last_program_;
};

}  // namespace

std::string subgraph_key(const Node& node, const std::string& attribute) {
  return (node.name.empty() ? node.outputs.at(0) : node.name) + "::" + attribute;
}

std::unique_ptr<Op> make_if(const Node& node, const Graph& graph) { return std::make_unique<If>(node, graph); }

}  // namespace edgequant::engine
