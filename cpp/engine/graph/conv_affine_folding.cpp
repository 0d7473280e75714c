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

bool scales_output_channels(const Node& node) {
  return node.domain.empty() && (node.op_type == "Conv" || node.op_type == "ConvTranspose");
}

int64_t weight_output_channels(const Node& node, const Tensor& w) {
  if (w.rank() < 3 || w.shape[0] < 1 || w.shape[1] < 1) return 0;
  if (node.op_type != "ConvTranspose") return w.shape[0];
  const int64_t groups = node.attr_i("group", 1);
  return groups >= 1 && w.shape[0] % groups == 0 ? w.shape[1] * groups : 0;
}

Tensor scale_output_channels(const Node& node, const Tensor& w, const std::vector<float>& gains) {
  Tensor scaled = Tensor::zeros_f32(w.shape);
  const int64_t rows = w.shape[0], per_row = w.shape[1], inner = w.numel() / (rows * per_row);
  const bool transposed = node.op_type == "ConvTranspose";
  const int64_t rows_per_group = transposed ? rows / node.attr_i("group", 1) : rows;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < per_row; ++j) {
      // Conv: row r is output channel r. ConvTranspose: row r is an input channel of group r / rows_per_group,
      // column j that group's output channel j.
      const float gain = gains[transposed ? r / rows_per_group * per_row + j : r];
      const int64_t at = (r * per_row + j) * inner;
      for (int64_t i = 0; i < inner; ++i) scaled.f()[at + i] = w.f()[at + i] * gain;
    }
  return scaled;
}

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
      if (!scales_output_channels(conv) || conv.outputs.size() != 1 || conv.inputs.size() < 2 ||
          !float_constant(graph, conv.inputs[1]))
        continue;
      const bool transposed = conv.op_type == "ConvTranspose";
      // A quantized file's per-channel weight scales lie along Conv's output axis only.
      if (transposed && (conv.has("_activation") || graph.weight_scales.count(conv.inputs[1]))) continue;
      const Tensor& w = graph.initializers.at(conv.inputs[1]);
      const int64_t oc = weight_output_channels(conv, w);
      if (oc == 0) continue;  // the op reports malformed weights
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
          Tensor scaled = scale_output_channels(conv, w, c);
          for (int64_t o = 0; o < oc; ++o) bias.f()[o] *= c[o];
          const std::string w_name = conv.name + "/affine_weight";
          carry_weight_scales(graph, conv.inputs[1], w_name, c);
          graph.initializers[w_name] = std::move(scaled);
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
