// If with a condition computed at run time (a constant one is inlined at load, see
// graph/constant_folding.h): runs the chosen branch's nodes in order with its own ops, built once
// per branch, on the run's backend. The values a branch reads from the enclosing graph are the
// node's inputs from `_captures_from` on (onnx/loader.cpp), matched by name.
#include <map>

#include "ops/op.h"

namespace edgequant::engine {
namespace {

// One branch: its graph and an op per node.
struct Branch {
  std::shared_ptr<const Graph> graph;
  std::vector<std::unique_ptr<Op>> ops;
};

class If : public Op {
 public:
  explicit If(const Node& node) : Op(node) {
    check(!node.inputs.empty() && !node.inputs[0].empty(), "the condition (input 0) is missing");
    captures_from_ = static_cast<size_t>(node.attr_i("_captures_from", 1));
    check(captures_from_ == 1 && captures_from_ <= node.inputs.size(), "expects 1 input (the condition)");
    then_ = build("then_branch");
    else_ = build("else_branch");
  }

  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& condition = input(inputs, 0);
    check(condition.numel() == 1, [&] { return "the condition must hold one value, got shape " + shape_string(condition.shape); });
    const bool take_then = condition.dtype == DType::f32 ? condition.f()[0] != 0.0f : condition.i()[0] != 0;
    Branch& branch = take_then ? then_ : else_;
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

 private:
  Branch build(const std::string& key) {
    auto it = node_.attributes.find(key);
    check(it != node_.attributes.end() && it->second.graph, [&] { return "subgraph attribute '" + key + "' is missing"; });
    Branch branch;
    branch.graph = it->second.graph;
    check(branch.graph->outputs.size() == node_.outputs.size(),
          [&] { return key + " has " + std::to_string(branch.graph->outputs.size()) + " outputs, the node " +
              std::to_string(node_.outputs.size()); });
    for (const Node& n : branch.graph->nodes) branch.ops.push_back(make_op(n, *branch.graph));
    return branch;
  }

  size_t captures_from_ = 1;
  Branch then_, else_;
};

}  // namespace

std::unique_ptr<Op> make_if(const Node& node, const Graph&) { return std::make_unique<If>(node); }

}  // namespace edgequant::engine
