#include "graph/constant_folding.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "backend/registry.h"
#include "common/error.h"
#include "graph/static_shapes.h"
#include "ops/broadcasting.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

constexpr int64_t kMaxFoldedElements = int64_t{1} << 22;  // per folded output
constexpr int64_t kMaxProbeElements = int64_t{1} << 24;   // a shape probe's inputs, all together

// Product of dims, or kMaxFoldedElements + 1 when larger (no overflow on hostile shapes).
int64_t capped_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return kMaxFoldedElements + 1;
    if (d == 0) return 0;
    if (n > kMaxFoldedElements / d) return kMaxFoldedElements + 1;
    n *= d;
  }
  return n;
}

// Ops never evaluated at load: random, or with subgraphs (If is inlined separately).
bool never_folded(const Node& node) {
  static const std::set<std::string> ops = {"If", "Loop", "Scan", "RandomNormal", "RandomUniform",
                                            "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli"};
  return !node.domain.empty() || ops.count(node.op_type) != 0;
}

// Whether folding `node` (all inputs constant) gives outputs of a size worth keeping, judged
// before running it for the ops whose output size comes from input values.
bool output_small_enough(const Node& node, const std::vector<const Tensor*>& in) {
  const std::string& op = node.op_type;
  auto values = [&](size_t k) { return in.size() > k && in[k] ? in[k]->as_i64() : std::vector<int64_t>(); };
  if (op == "ConstantOfShape") return in.size() == 1 && in[0]->dtype == DType::i64 && capped_numel(values(0)) <= kMaxFoldedElements;
  if (op == "Expand") {
    Shape out;
    if (in.size() != 2 || in[1]->dtype != DType::i64 || !broadcast_shapes({in[0]->shape, values(1)}, out).empty())
      return true;  // the op refuses it, with its message
    return capped_numel(out) <= kMaxFoldedElements;
  }
  if (op == "Tile" && in.size() == 2) {
    Shape factors = in[0]->shape;  // output elements: input elements times every repeat
    const std::vector<int64_t> repeats = values(1);
    factors.insert(factors.end(), repeats.begin(), repeats.end());
    return capped_numel(factors) <= kMaxFoldedElements;
  }
  if (op == "Range" && in.size() == 3 && in[0]->numel() == 1 && in[1]->numel() == 1 && in[2]->numel() == 1) {
    const std::vector<float> v = {in[0]->as_f32()[0], in[1]->as_f32()[0], in[2]->as_f32()[0]};
    const double count = std::ceil((static_cast<double>(v[1]) - v[0]) / v[2]);
    return !(std::isfinite(count) && count > static_cast<double>(kMaxFoldedElements));
  }
  int64_t total = 0;
  for (const Tensor* t : in)
    if (t) total += capped_numel(t->shape);
  return total <= kMaxFoldedElements;
}

// Runs `node` once; false (the node stays) where the op is unsupported or refuses the inputs:
// the run then reports it, or the unsupported-op check names it.
bool evaluate(const Node& node, const Graph& graph, const std::vector<const Tensor*>& inputs, Backend& backend,
              std::vector<Tensor>& outputs) {
  try {
    std::unique_ptr<Op> op = make_op(node, graph);
    RunContext ctx{backend, nullptr};
    outputs.assign(node.outputs.size(), Tensor());
    op->run(ctx, inputs, outputs);
  } catch (const InvalidArgument&) {
    return false;
  } catch (const CorruptData&) {
    return false;
  }
  for (size_t k = 0; k < outputs.size(); ++k) {
    Tensor& t = outputs[k];
    if (node.outputs[k].empty()) continue;
    if (!t.has_data()) return false;  // not computed: the run reports it
    t.materialize();
    t.native.reset();
  }
  return true;
}

// The shape-bearing part of a value: a zero tensor of its dtype and shape, for a shape probe.
Tensor zeros_like(const StaticValue& v) {
  return v.dtype == DType::f32 ? Tensor::zeros_f32(v.shape, "shape probe") : Tensor::zeros_i64(v.shape, "shape probe");
}

// Ops whose output shape depends on the values of an input other than input 0 (run on zeros
// only when those are constants), or on any input's values (never run on zeros: Range's length
// comes from its start too).
bool shape_from_values(const std::string& op) {
  static const std::set<std::string> ops = {"Resize", "Upsample", "Range", "Reshape", "Expand", "Tile", "Slice",
                                            "Pad", "ConstantOfShape", "TopK", "OneHot", "Split"};
  return ops.count(op) != 0;
}
bool shape_from_data(const std::string& op) {
  return op == "NonZero" || op == "Compress" || op == "Unique" || op == "NonMaxSuppression" || op == "Range";
}

class Folder {
 public:
  explicit Folder(Graph& graph) : graph_(graph), backend_(make_backend("reference")) {
    for (const ValueInfo& in : graph.inputs) {
      bool fixed = !in.shape.empty();
      for (int64_t d : in.shape) fixed = fixed && d >= 0;
      if (fixed) known_[in.name] = {true, in.dtype, in.shape};
    }
  }

  // One pass over the nodes in order; true if an If was inlined (its branch's nodes need a pass).
  bool pass(FoldingStats& stats) {
    find_wanted_shapes();
    std::vector<Node> kept;
    bool inlined = false;
    for (size_t k = 0; k < graph_.nodes.size(); ++k) {
      Node& node = graph_.nodes[k];
      if (node.op_type == "If" && node.domain.empty() && inline_constant_if(node, kept)) {
        ++stats.inlined_ifs;
        inlined = true;
        continue;
      }
      if (fold(node)) {
        ++stats.folded_nodes;
        continue;
      }
      infer_shapes(node);
      kept.push_back(std::move(node));
    }
    graph_.nodes = std::move(kept);
    return inlined;
  }

 private:
  const Tensor* constant(const std::string& name) const {
    auto it = graph_.initializers.find(name);
    return it == graph_.initializers.end() ? nullptr : &it->second;
  }

  StaticValue static_value(const std::string& name) const {
    if (name.empty()) return {};
    if (const Tensor* t = constant(name)) return {true, t->dtype, t->shape};
    auto it = known_.find(name);
    return it == known_.end() ? StaticValue() : it->second;
  }

  // Folds the node into initializers if it can be computed now; true if it was.
  bool fold(const Node& node) {
    if (never_folded(node) || node.outputs.empty()) return false;
    // Shape / Size of a tensor whose shape is known, constant or not.
    if ((node.op_type == "Shape" || node.op_type == "Size") && node.inputs.size() == 1 && node.outputs.size() == 1) {
      const StaticValue x = static_value(node.inputs[0]);
      if (!x.known) return false;
      return fold_with(node, {nullptr}, x);
    }
    std::vector<const Tensor*> in;
    for (const std::string& name : node.inputs) {
      if (name.empty()) {
        in.push_back(nullptr);
        continue;
      }
      const Tensor* t = constant(name);
      if (!t) return false;
      in.push_back(t);
    }
    if (!output_small_enough(node, in)) return false;
    return fold_with(node, in, {});
  }

  // Evaluates with `in` (Shape / Size: on a stand-in of `shape_of`'s shape, no data needed).
  bool fold_with(const Node& node, std::vector<const Tensor*> in, const StaticValue& shape_of) {
    Tensor stand_in;
    if (shape_of.known) {
      stand_in.dtype = shape_of.dtype;
      stand_in.shape = shape_of.shape;  // Shape and Size read only the shape
      in[0] = &stand_in;
    }
    std::vector<Tensor> out;
    if (!evaluate(node, graph_, in, *backend_, out)) return false;
    for (size_t k = 0; k < out.size(); ++k)
      if (!node.outputs[k].empty() && capped_numel(out[k].shape) > kMaxFoldedElements) return false;
    const size_t produced = std::min(out.size(), produced_outputs(node));
    for (size_t k = produced; k < node.outputs.size(); ++k)
      if (!node.outputs[k].empty()) return false;  // an output the op does not compute: the engine decides
    for (size_t k = 0; k < produced; ++k)
      if (!node.outputs[k].empty()) graph_.initializers[node.outputs[k]] = out[k];
    return true;
  }

  // The values whose shapes a Shape or Size reads, directly or through the nodes computing them:
  // only those are worth inferring (a probe costs a run of its op).
  void find_wanted_shapes() {
    wanted_.clear();
    for (size_t k = graph_.nodes.size(); k-- > 0;) {
      const Node& node = graph_.nodes[k];
      bool wanted = false;
      for (const std::string& out : node.outputs) wanted = wanted || wanted_.count(out) != 0;
      if (node.op_type == "Shape" || node.op_type == "Size" || wanted)
        wanted_.insert(node.inputs.begin(), node.inputs.end());
    }
  }

  // Records the node's output shapes where they follow from known input shapes.
  void infer_shapes(const Node& node) {
    bool wanted = false;
    for (const std::string& out : node.outputs) wanted = wanted || wanted_.count(out) != 0;
    if (!wanted) return;
    std::vector<StaticValue> in;
    for (const std::string& name : node.inputs) in.push_back(static_value(name));
    std::vector<StaticValue> out;
    if (!static_output_shapes(node, graph_, in, out) && !probe(node, in, out)) return;
    for (size_t k = 0; k < out.size() && k < node.outputs.size(); ++k)
      if (out[k].known && !node.outputs[k].empty()) known_[node.outputs[k]] = out[k];
  }

  // Output shapes by running the op on zeros of its inputs' shapes: only where they cannot depend
  // on values that are not constants, and for inputs of a bounded size.
  bool probe(const Node& node, const std::vector<StaticValue>& in, std::vector<StaticValue>& out) {
    if (never_folded(node) || shape_from_data(node.op_type) || !is_supported_op(node.op_type)) return false;
    int64_t total = 0;
    std::vector<Tensor> zeros(node.inputs.size());
    std::vector<const Tensor*> inputs(node.inputs.size(), nullptr);
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      if (node.inputs[k].empty()) continue;
      if (const Tensor* t = constant(node.inputs[k])) {
        inputs[k] = t;
        continue;
      }
      if (!in[k].known) return false;
      // An integer input that is not constant may be a shape or indices; a float one past input 0
      // may be scales (Resize).
      if (in[k].dtype != DType::f32 || (k > 0 && shape_from_values(node.op_type))) return false;
      total += capped_numel(in[k].shape);
      if (total > kMaxProbeElements) return false;
      zeros[k] = zeros_like(in[k]);
      inputs[k] = &zeros[k];
    }
    std::vector<Tensor> results;
    if (!evaluate(node, graph_, inputs, *backend_, results)) return false;
    out.assign(results.size(), StaticValue());
    for (size_t k = 0; k < results.size() && k < produced_outputs(node); ++k)
      if (!node.outputs[k].empty()) out[k] = {true, results[k].dtype, results[k].shape};
    return true;
  }

  bool inline_constant_if(const Node& node, std::vector<Node>& kept);

  Graph& graph_;
  std::unique_ptr<Backend> backend_;
  std::map<std::string, StaticValue> known_;  // non-constant values whose shape is known
  std::set<std::string> wanted_;               // values whose shape a Shape / Size needs
};

// Renames references (node inputs and outputs, graph outputs) in `g` and its nested subgraphs.
void rename_references(Graph& g, const std::map<std::string, std::string>& renamed) {
  auto rename = [&](std::string& name) {
    auto it = renamed.find(name);
    if (it != renamed.end()) name = it->second;
  };
  for (Node& n : g.nodes) {
    for (std::string& v : n.inputs) rename(v);
    for (std::string& v : n.outputs) rename(v);
    for (auto& kv : n.attributes)
      if (kv.second.graph) {
        auto copy = std::make_shared<Graph>(*kv.second.graph);
        rename_references(*copy, renamed);
        kv.second.graph = copy;
      }
  }
  for (ValueInfo& out : g.outputs) rename(out.name);
}

// An If whose condition is a constant: its chosen branch's initializers and nodes move into the
// graph under names prefixed with the If's name; a branch output its nodes compute is renamed to
// the If's output, others (a captured value, a constant) reach it through an Identity.
bool Folder::inline_constant_if(const Node& node, std::vector<Node>& kept) {
  const Tensor* condition = node.inputs.empty() ? nullptr : constant(node.inputs[0]);
  if (!condition || condition->numel() != 1) return false;
  const bool take_then = condition->dtype == DType::f32 ? condition->f()[0] != 0.0f : condition->i()[0] != 0;
  auto it = node.attributes.find(take_then ? "then_branch" : "else_branch");
  if (it == node.attributes.end() || !it->second.graph) return false;
  Graph branch = *it->second.graph;
  if (branch.outputs.size() != node.outputs.size()) return false;  // the If op reports it
  std::set<std::string> taken;
  for (const auto& kv : graph_.initializers) taken.insert(kv.first);
  for (const Node& n : graph_.nodes) taken.insert(n.outputs.begin(), n.outputs.end());  // those not moved yet
  for (const Node& n : kept) taken.insert(n.outputs.begin(), n.outputs.end());
  for (const ValueInfo& v : graph_.inputs) taken.insert(v.name);
  std::map<std::string, std::string> renamed;
  auto fresh = [&](const std::string& name) {
    std::string candidate = node.name + "/" + name;
    while (taken.count(candidate)) candidate += "_";
    taken.insert(candidate);
    renamed[name] = candidate;
  };
  // A branch output its nodes compute takes the If's output name (no Identity needed).
  std::set<std::string> computed;
  for (const Node& n : branch.nodes) computed.insert(n.outputs.begin(), n.outputs.end());
  std::vector<bool> direct(node.outputs.size(), false);
  for (size_t k = 0; k < node.outputs.size(); ++k) {
    const std::string& name = branch.outputs[k].name;
    if (node.outputs[k].empty() || !computed.count(name) || renamed.count(name)) continue;
    renamed[name] = node.outputs[k];
    direct[k] = true;
  }
  for (const auto& kv : branch.initializers) fresh(kv.first);
  for (const Node& n : branch.nodes)
    for (const std::string& out : n.outputs)
      if (!out.empty() && !renamed.count(out)) fresh(out);
  rename_references(branch, renamed);
  for (auto& kv : branch.initializers) graph_.initializers[renamed.at(kv.first)] = kv.second;
  for (Node& n : branch.nodes) {
    n.name = node.name + "/" + n.name;
    kept.push_back(std::move(n));
  }
  for (size_t k = 0; k < node.outputs.size(); ++k) {
    if (node.outputs[k].empty() || direct[k]) continue;
    Node identity;
    identity.name = node.name + "/output_" + std::to_string(k);
    identity.op_type = "Identity";
    identity.inputs = {branch.outputs[k].name};
    identity.outputs = {node.outputs[k]};
    kept.push_back(std::move(identity));
  }
  return true;
}

}  // namespace

FoldingStats fold_constants(Graph& graph) {
  FoldingStats stats;
  Folder folder(graph);
  // An inlined branch's nodes were not yet folded: passes until nothing is inlined (each pass
  // folds chains in one sweep, the nodes being in topological order).
  for (int guard = 0; folder.pass(stats) && guard < 1000; ++guard) {
  }
  return stats;
}

}  // namespace edgequant::engine
