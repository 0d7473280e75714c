#include "graph/passes.h"

#include <cmath>
#include <limits>

#include "graph/conv_affine_folding.h"
#include "graph/graph_index.h"
#include "graph/qdq.h"

namespace edgequant::engine {

namespace {

bool constant_f32(const Graph& graph, const std::string& name) {
  return !name.empty() && graph.is_constant(name) && graph.initializers.at(name).dtype == DType::f32;
}

// Input `i` of `node`, "" when the node has fewer inputs (passes must not assume an op's arity:
// the op itself reports a malformed node when it is built).
const std::string& input_of(const Node& node, size_t i) {
  static const std::string none;
  return i < node.inputs.size() ? node.inputs[i] : none;
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
    if (c < 0 || !scales_output_channels(graph.nodes[c]) || index.readers(bn.inputs[0]) != 1) continue;
    Node& conv = graph.nodes[c];
    if (conv.inputs.size() < 2 || conv.inputs.size() > 3 || conv.outputs.size() != 1 || conv.has("_activation")) continue;
    bool constants = constant_f32(graph, conv.inputs[1]);
    for (int p = 1; p < 5; ++p) constants = constants && constant_f32(graph, bn.inputs[p]);
    if (!constants || (conv.inputs.size() == 3 && !conv.inputs[2].empty() && !constant_f32(graph, conv.inputs[2]))) continue;
    // A quantized file's per-channel weight scales lie along Conv's output axis only.
    if (conv.op_type == "ConvTranspose" && graph.weight_scales.count(conv.inputs[1])) continue;
    const Tensor& w = graph.initializers.at(conv.inputs[1]);
    const int64_t oc = weight_output_channels(conv, w);  // 0: the op reports its malformed weights
    const Tensor *gamma = &graph.initializers.at(bn.inputs[1]), *beta = &graph.initializers.at(bn.inputs[2]),
                 *mean = &graph.initializers.at(bn.inputs[3]), *var = &graph.initializers.at(bn.inputs[4]);
    if (gamma->numel() != oc || beta->numel() != oc || mean->numel() != oc || var->numel() != oc || oc == 0) continue;
    const float eps = bn.attr_f("epsilon", 1e-5f);
    Tensor new_b = Tensor::zeros_f32({oc});
    const bool has_bias = conv.inputs.size() == 3 && !conv.inputs[2].empty();
    if (has_bias && graph.initializers.at(conv.inputs[2]).numel() != oc) continue;  // the Conv reports it
    std::vector<float> gains(static_cast<size_t>(oc));
    for (int64_t o = 0; o < oc; ++o) {
      const float a = gains[o] = gamma->f()[o] / std::sqrt(var->f()[o] + eps);
      const float b = has_bias ? graph.initializers.at(conv.inputs[2]).f()[o] : 0.f;
      new_b.f()[o] = (b - mean->f()[o]) * a + beta->f()[o];
    }
    Tensor new_w = scale_output_channels(conv, w, gains);
    const std::string w_name = conv.name + "/bn_folded_weight", b_name = conv.name + "/bn_folded_bias";
    carry_weight_scales(graph, conv.inputs[1], w_name, gains);
    graph.initializers[w_name] = std::move(new_w);
    graph.initializers[b_name] = std::move(new_b);
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

int move_relus_before_max_pools(Graph& graph) {
  GraphIndex index(graph);
  int moved = 0;
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    const Node& relu = graph.nodes[k];
    if (relu.op_type != "Relu" || !relu.domain.empty() || relu.inputs.size() != 1 || relu.outputs.size() != 1) continue;
    const int p = index.producer(relu.inputs[0]);
    if (p < 0 || index.readers(relu.inputs[0]) != 1) continue;
    const Node& pool = graph.nodes[p];
    if (pool.op_type != "MaxPool" || !pool.domain.empty() || pool.outputs.size() != 1 || pool.inputs.empty()) continue;
    const int c = index.producer(pool.inputs[0]);
    if (c < 0 || index.readers(pool.inputs[0]) != 1) continue;
    const Node& conv = graph.nodes[c];
    if (conv.op_type != "Conv" || conv.outputs.size() != 1 || conv.has("_activation") || conv.has("_sum")) continue;
    // conv -> a -> MaxPool -> m -> Relu -> y  becomes  conv -> a -> Relu -> m -> MaxPool -> y: the Relu
    // takes the pool's place (and its output name: m had no other reader), the pool the Relu's.
    const std::string a = pool.inputs[0], m = pool.outputs[0], y = relu.outputs[0];
    std::swap(graph.nodes[p], graph.nodes[k]);
    graph.nodes[p].inputs[0] = a;
    graph.nodes[p].outputs[0] = m;
    graph.nodes[k].inputs[0] = m;
    graph.nodes[k].outputs[0] = y;
    index.set_producer(m, p);
    index.set_producer(y, static_cast<int>(k));
    ++moved;
  }
  return moved;
}

int fuse_activations(Graph& graph) {
  GraphIndex index(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  int fused = 0;
  // A Conv with a fused residual Add takes a second activation, applied after the sum.
  auto slot = [&](const Node& n) { return std::string(n.has("_sum") ? "_after_sum" : ""); };
  // A ConvTranspose takes a Relu only (`relu`: what is being fused is one).
  auto fusable_producer = [&](const std::string& value, bool relu = false) -> int {
    const int p = index.producer(value);
    if (p < 0 || dead[p] || index.readers(value) != 1) return -1;
    const Node& n = graph.nodes[p];
    if (n.outputs.size() != 1 || n.has(slot(n) + "_activation")) return -1;
    if (n.op_type == "Conv" || n.op_type == "Gemm") return p;
    if (relu && n.op_type == "ConvTranspose" && n.domain.empty()) return p;
    if (n.op_type == "MatMul" && graph.is_constant(input_of(n, 1))) return p;
    return -1;
  };
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    Node& act = graph.nodes[k];
    if (act.inputs.empty() || act.inputs[0].empty() || act.outputs.size() != 1) continue;
    Attribute kind;
    kind.kind = Attribute::Kind::s;
    int p = -1;
    if (act.op_type == "Relu") {
      p = fusable_producer(act.inputs[0], true);
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
    } else if (act.op_type == "Swish" && act.attr_f("alpha", 1.f) == 1.f) {
      // Written out as x·sigmoid(x) in the model: graph/activation_patterns.h made it a Swish.
      p = fusable_producer(act.inputs[0]);
      kind.s = "swish";
    } else if (act.op_type == "Gelu" && act.attr_s("approximate", "none") == "none") {
      p = fusable_producer(act.inputs[0]);  // also x·(1 + erf(x/sqrt 2))/2 written out (activation_patterns.h)
      kind.s = "gelu";
    } else if (act.op_type == "HardSwish" || act.op_type == "HardSigmoid") {
      p = fusable_producer(act.inputs[0]);
      const bool swish = act.op_type == "HardSwish";
      kind.s = swish ? "hardswish" : "hardsigmoid";
      if (p >= 0) {
        Attribute a, b;
        a.kind = b.kind = Attribute::Kind::f;
        a.f = swish ? 1.f / 6 : act.attr_f("alpha", 0.2f);
        b.f = swish ? 0.5f : act.attr_f("beta", 0.5f);
        graph.nodes[p].attributes[slot(graph.nodes[p]) + "_hard_alpha"] = a;
        graph.nodes[p].attributes[slot(graph.nodes[p]) + "_hard_beta"] = b;
      }
    }
    if (p < 0) continue;
    graph.nodes[p].attributes[slot(graph.nodes[p]) + "_activation"] = kind;
    index.absorb(graph, p, act);
    dead[k] = true;
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
