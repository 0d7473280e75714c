#include "graph/conv_affine_folding.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "graph/graph_index.h"
#include "graph/qdq.h"

namespace edgequant::engine {
namespace {

bool float_constant(const Graph& graph, const std::string& name) {
  return !name.empty() && graph.is_constant(name) && graph.initializers.at(name).dtype == DType::f32;
}

// The constant's value for each of `oc` output channels of a conv output of rank `rank`, or {}
// where it varies along another axis, would broadcast the output to more axes, or is not finite
// (0 · inf in the folded weights is not the product of the conv's output).
std::vector<float> per_channel(const Tensor& c, int rank, int64_t oc) {
  if (c.rank() > rank) return {};
  const int lead = rank - c.rank();
  bool along_channels = false;
  for (int j = 0; j < c.rank(); ++j) {
    const int64_t dim = c.shape[j];
    if (lead + j == 1 && dim == oc && oc > 1) along_channels = true;
    else if (dim != 1) return {};
  }
  std::vector<float> values(oc);
  for (int64_t o = 0; o < oc; ++o) {
    values[o] = c.f()[along_channels ? o : 0];
    if (!std::isfinite(values[o])) return {};
  }
  return values;
}

// y · scale + shift after the conv's activation in `slot`, composed with one already there.
void after_activation(Node& conv, const std::string& slot, bool multiply, float c) {
  float scale = conv.attr_f(slot + "_affine_scale", 1.f), shift = conv.attr_f(slot + "_affine_shift", 0.f);
  if (multiply) scale *= c, shift *= c;
  else shift += c;
  Attribute a, b;
  a.kind = b.kind = Attribute::Kind::f;
  a.f = scale;
  b.f = shift;
  conv.attributes[slot + "_affine_scale"] = a;
  conv.attributes[slot + "_affine_shift"] = b;
}

}  // namespace

int fold_affine_into_convs(Graph& graph) {
  GraphIndex index(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  int folded = 0;
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    const Node& op = graph.nodes[k];
    if ((op.op_type != "Mul" && op.op_type != "Add") || !op.domain.empty() || op.inputs.size() != 2 ||
        op.outputs.size() != 1)
      continue;
    for (int side = 0; side < 2; ++side) {
      const std::string &constant = op.inputs[side], &value = op.inputs[1 - side];
      if (!float_constant(graph, constant) || value.empty() || graph.is_constant(value)) continue;
      const int p = index.producer(value);
      if (p < 0 || dead[p] || index.readers(value) != 1) continue;
      Node& conv = graph.nodes[p];
      if (conv.op_type != "Conv" || !conv.domain.empty() || conv.outputs.size() != 1 || conv.inputs.size() < 2 ||
          !float_constant(graph, conv.inputs[1]))
        continue;
      const Tensor& w = graph.initializers.at(conv.inputs[1]);
      if (w.rank() < 3 || w.shape[0] < 1) continue;  // the Conv reports malformed weights
      const int64_t oc = w.shape[0], per_oc = w.numel() / oc;
      const std::vector<float> c = per_channel(graph.initializers.at(constant), w.rank(), oc);
      if (c.empty()) continue;
      const std::string slot = conv.has("_sum") ? "_after_sum" : "";
      if (conv.has(slot + "_activation")) {
        // After a fused activation: one value for all channels, applied after it.
        if (std::any_of(c.begin(), c.end(), [&](float v) { return v != c[0]; })) continue;
        after_activation(conv, slot, op.op_type == "Mul", c[0]);
      } else {
        if (conv.has("_sum") || conv.inputs.size() > 3) continue;
        const bool has_bias = conv.inputs.size() == 3 && !conv.inputs[2].empty();
        if (has_bias && (!float_constant(graph, conv.inputs[2]) || graph.initializers.at(conv.inputs[2]).numel() != oc))
          continue;
        Tensor bias = Tensor::zeros_f32({oc});
        if (has_bias) {
          const float* b = graph.initializers.at(conv.inputs[2]).f();
          std::copy(b, b + oc, bias.f());
        }
        if (op.op_type == "Mul") {
          Tensor scaled = Tensor::zeros_f32(w.shape);
          for (int64_t o = 0; o < oc; ++o) {
            for (int64_t i = 0; i < per_oc; ++i) scaled.f()[o * per_oc + i] = w.f()[o * per_oc + i] * c[o];
            bias.f()[o] *= c[o];
          }
          const std::string w_name = conv.name + "/affine_weight";
          carry_weight_scales(graph, conv.inputs[1], w_name, c);
          graph.initializers[w_name] = scaled;
          conv.inputs[1] = w_name;
        } else {
          for (int64_t o = 0; o < oc; ++o) bias.f()[o] += c[o];
        }
        const std::string b_name = conv.name + "/affine_bias";
        graph.initializers[b_name] = bias;
        conv.inputs.resize(3);
        conv.inputs[2] = b_name;
      }
      index.absorb(graph, p, op);
      dead[k] = true;
      ++folded;
      break;
    }
  }
  erase_nodes(graph, dead);
  return folded;
}

}  // namespace edgequant::engine
