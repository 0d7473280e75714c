#include "graph/passes.h"

#include <cmath>
#include <limits>
#include <unordered_map>

namespace edgequant::engine {

namespace {

// Who produces each value and how many read it (graph outputs count as readers), built once per
// pass and kept current by the pass as it rewrites: each lookup is O(1), so a pass is linear in
// the graph's size rather than quadratic.
class GraphIndex {
 public:
  explicit GraphIndex(const Graph& graph) {
    for (size_t k = 0; k < graph.nodes.size(); ++k) {
      for (const std::string& out : graph.nodes[k].outputs)
        if (!out.empty()) producer_[out] = static_cast<int>(k);
      for (const std::string& in : graph.nodes[k].inputs)
        if (!in.empty()) ++readers_[in];
    }
    for (const ValueInfo& out : graph.outputs) ++readers_[out.name];
  }
  // Index of the node producing `value`, or -1.
  int producer(const std::string& value) const {
    auto it = producer_.find(value);
    return it == producer_.end() ? -1 : it->second;
  }
  int readers(const std::string& value) const {
    auto it = readers_.find(value);
    return it == readers_.end() ? 0 : it->second;
  }
  // Node `k` now writes `value` (it took over the output of a node it absorbed).
  void set_producer(const std::string& value, int k) { producer_[value] = k; }
  void forget(const std::string& value) { producer_.erase(value); }
  void add_reader(const std::string& value) { ++readers_[value]; }
  void remove_reader(const std::string& value) { --readers_[value]; }

 private:
  std::unordered_map<std::string, int> producer_, readers_;
};

bool constant_f32(const Graph& graph, const std::string& name) {
  return !name.empty() && graph.is_constant(name) && graph.initializers.at(name).dtype == DType::f32;
}

// Input `i` of `node`, "" when the node has fewer inputs (passes must not assume an op's arity:
// the op itself reports a malformed node when it is built).
const std::string& input_of(const Node& node, size_t i) {
  static const std::string none;
  return i < node.inputs.size() ? node.inputs[i] : none;
}

void erase_nodes(Graph& graph, std::vector<bool>& dead) {
  std::vector<Node> kept;
  for (size_t k = 0; k < graph.nodes.size(); ++k)
    if (!dead[k]) kept.push_back(std::move(graph.nodes[k]));
  graph.nodes = std::move(kept);
}

}  // namespace

int fold_batch_norms(Graph& graph) {
  GraphIndex index(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  int folded = 0;
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    Node& bn = graph.nodes[k];
    if (bn.op_type != "BatchNormalization" || bn.inputs.size() != 5 || bn.outputs.size() != 1) continue;
    const int c = index.producer(bn.inputs[0]);
    if (c < 0 || graph.nodes[c].op_type != "Conv" || index.readers(bn.inputs[0]) != 1) continue;
    Node& conv = graph.nodes[c];
    if (conv.inputs.size() < 2 || conv.inputs.size() > 3 || conv.outputs.size() != 1) continue;
    bool constants = constant_f32(graph, conv.inputs[1]);
    for (int p = 1; p < 5; ++p) constants = constants && constant_f32(graph, bn.inputs[p]);
    if (!constants || (conv.inputs.size() == 3 && !conv.inputs[2].empty() && !constant_f32(graph, conv.inputs[2]))) continue;
    const Tensor& w = graph.initializers.at(conv.inputs[1]);
    const int64_t oc = w.shape.empty() ? 0 : w.shape[0];
    if (w.rank() < 3) continue;  // the Conv reports its malformed weights
    const Tensor *gamma = &graph.initializers.at(bn.inputs[1]), *beta = &graph.initializers.at(bn.inputs[2]),
                 *mean = &graph.initializers.at(bn.inputs[3]), *var = &graph.initializers.at(bn.inputs[4]);
    if (gamma->numel() != oc || beta->numel() != oc || mean->numel() != oc || var->numel() != oc || oc == 0) continue;
    const float eps = bn.attr_f("epsilon", 1e-5f);
    Tensor new_w = Tensor::zeros_f32(w.shape), new_b = Tensor::zeros_f32({oc});
    const int64_t per_oc = w.numel() / oc;
    const bool has_bias = conv.inputs.size() == 3 && !conv.inputs[2].empty();
    if (has_bias && graph.initializers.at(conv.inputs[2]).numel() != oc) continue;  // the Conv reports it
    for (int64_t o = 0; o < oc; ++o) {
      const float a = gamma->f()[o] / std::sqrt(var->f()[o] + eps);
      for (int64_t i = 0; i < per_oc; ++i) new_w.f()[o * per_oc + i] = w.f()[o * per_oc + i] * a;
      const float b = has_bias ? graph.initializers.at(conv.inputs[2]).f()[o] : 0.f;
      new_b.f()[o] = (b - mean->f()[o]) * a + beta->f()[o];
    }
    const std::string w_name = conv.name + "/bn_folded_weight", b_name = conv.name + "/bn_folded_bias";
    graph.initializers[w_name] = new_w;
    graph.initializers[b_name] = new_b;
    conv.inputs.resize(3);
    conv.inputs[1] = w_name;
    conv.inputs[2] = b_name;
    index.forget(conv.outputs[0]);
    conv.outputs[0] = bn.outputs[0];
    index.set_producer(bn.outputs[0], c);
    dead[k] = true;
    ++folded;
  }
  erase_nodes(graph, dead);
  return folded;
}

int fuse_activations(Graph& graph) {
  GraphIndex index(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  int fused = 0;
  // A Conv with a fused residual Add takes a second activation, applied after the sum.
  auto slot = [&](const Node& n) { return std::string(n.has("_sum") ? "_after_sum" : ""); };
  auto fusable_producer = [&](const std::string& value) -> int {
    const int p = index.producer(value);
    if (p < 0 || dead[p] || index.readers(value) != 1) return -1;
    const Node& n = graph.nodes[p];
    if (n.outputs.size() != 1 || n.has(slot(n) + "_activation")) return -1;
    if (n.op_type == "Conv" || n.op_type == "Gemm") return p;
    if (n.op_type == "MatMul" && graph.is_constant(input_of(n, 1))) return p;
    return -1;
  };
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    Node& act = graph.nodes[k];
    if (act.inputs.empty() || act.inputs[0].empty() || act.outputs.size() != 1) continue;
    Attribute kind;
    kind.kind = Attribute::Kind::s;
    int p = -1;
    Node* sigmoid_to_drop = nullptr;
    size_t sigmoid_index = 0;
    if (act.op_type == "Relu") {
      p = fusable_producer(act.inputs[0]);
      kind.s = "relu";
    } else if (act.op_type == "Clip") {
      float lo = act.attr_f("min", -std::numeric_limits<float>::infinity());
      float hi = act.attr_f("max", std::numeric_limits<float>::infinity());
      bool constant_bounds = true;
      for (size_t i = 1; i < act.inputs.size() && i < 3; ++i) {
        if (act.inputs[i].empty()) continue;
        constant_bounds = constant_bounds && graph.is_constant(act.inputs[i]) &&
                          graph.initializers.at(act.inputs[i]).numel() == 1;
        if (constant_bounds) (i == 1 ? lo : hi) = graph.initializers.at(act.inputs[i]).as_f32()[0];
      }
      if (!constant_bounds) continue;
      p = fusable_producer(act.inputs[0]);
      kind.s = "clip";
      if (p >= 0) {
        Attribute a, b;
        a.kind = b.kind = Attribute::Kind::f;
        a.f = lo;
        b.f = hi;
        graph.nodes[p].attributes[slot(graph.nodes[p]) + "_clip_lo"] = a;
        graph.nodes[p].attributes[slot(graph.nodes[p]) + "_clip_hi"] = b;
      }
    } else if (act.op_type == "Mul" && act.inputs.size() == 2) {
      // SiLU: Mul(x, Sigmoid(x)) where x comes from a Conv; x is read twice (Sigmoid and Mul).
      for (int side = 0; side < 2 && p < 0; ++side) {
        const int s = index.producer(act.inputs[side]);
        if (s < 0 || dead[s] || graph.nodes[s].op_type != "Sigmoid" || graph.nodes[s].outputs.size() != 1) continue;
        if (input_of(graph.nodes[s], 0) != act.inputs[1 - side] || index.readers(act.inputs[side]) != 1) continue;
        const int c = index.producer(act.inputs[1 - side]);
        if (c < 0 || dead[c] || index.readers(act.inputs[1 - side]) != 2 || graph.nodes[c].outputs.size() != 1 ||
            graph.nodes[c].has(slot(graph.nodes[c]) + "_activation"))
          continue;
        if (graph.nodes[c].op_type != "Conv") continue;
        p = c;
        sigmoid_to_drop = &graph.nodes[s];
        sigmoid_index = static_cast<size_t>(s);
      }
      kind.s = "swish";
    }
    if (p < 0) continue;
    graph.nodes[p].attributes[slot(graph.nodes[p]) + "_activation"] = kind;
    index.forget(graph.nodes[p].outputs[0]);
    graph.nodes[p].outputs[0] = act.outputs[0];
    index.set_producer(act.outputs[0], p);
    for (const std::string& in : act.inputs) index.remove_reader(in);
    if (sigmoid_to_drop)
      for (const std::string& in : sigmoid_to_drop->inputs) index.remove_reader(in);
    dead[k] = true;
    if (sigmoid_to_drop) dead[sigmoid_index] = true;
    ++fused;
  }
  erase_nodes(graph, dead);
  return fused;
}

int fuse_residual_adds(Graph& graph) {
  GraphIndex index(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  int fused = 0;
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    const Node& add = graph.nodes[k];
    if (add.op_type != "Add" || add.inputs.size() != 2 || add.outputs.size() != 1) continue;
    if (add.inputs[0].empty() || add.inputs[1].empty() || add.inputs[0] == add.inputs[1] ||
        graph.is_constant(add.inputs[0]) || graph.is_constant(add.inputs[1]))
      continue;
    // Of two Conv operands take the later one: the other is then computed before it runs.
    int conv = -1, side = -1;
    for (int s = 0; s < 2; ++s) {
      const int c = index.producer(add.inputs[s]);
      if (c < 0 || dead[c] || graph.nodes[c].op_type != "Conv" || graph.nodes[c].has("_sum") ||
          graph.nodes[c].inputs.size() < 2 || graph.nodes[c].inputs.size() > 3 || graph.nodes[c].outputs.size() != 1 ||
          index.readers(add.inputs[s]) != 1 || c < conv)
        continue;
      conv = c;
      side = s;
    }
    if (conv < 0) continue;
    // The Conv moves to the Add's place: its own inputs come earlier, and so does the residual.
    Node fused_conv = std::move(graph.nodes[conv]);
    index.forget(fused_conv.outputs[0]);
    fused_conv.inputs.resize(4);
    fused_conv.inputs[3] = add.inputs[1 - side];
    Attribute on;
    on.kind = Attribute::Kind::i;
    on.i = 1;
    fused_conv.attributes["_sum"] = on;
    fused_conv.outputs[0] = add.outputs[0];
    graph.nodes[conv] = Node();
    dead[conv] = true;
    graph.nodes[k] = std::move(fused_conv);
    index.set_producer(add.outputs[0], static_cast<int>(k));
    ++fused;
  }
  erase_nodes(graph, dead);
  return fused;
}

}  // namespace edgequant::engine
