#include "graph/code_tables.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "backend/registry.h"
#include "common/error.h"
#include "graph/qdq.h"
#include "ops/op.h"

namespace edgequant::engine {
namespace {

// Ops that act on each element alone (with scalar constants beside it).
bool elementwise(const Node& n) {
  static const std::set<std::string> ops = {
      "Sigmoid", "Tanh", "Relu", "LeakyRelu", "Clip", "HardSigmoid", "HardSwish", "Mul", "Add", "Sub", "Div",
      "Exp", "Neg", "Abs", "Erf", "Softplus", "Elu", "Selu", "Min", "Max", "Identity", "QuantizeDequantize"};
  return n.domain.empty() && ops.count(n.op_type) && n.outputs.size() == 1;
}

// The channel count of a BatchNormalization whose parameters are float constants, one per channel; 0
// for any other node.
int64_t batch_norm_channels(const Graph& graph, const Node& n) {
  if (!n.domain.empty() || n.op_type != "BatchNormalization" || n.inputs.size() != 5 || n.outputs.size() != 1) return 0;
  int64_t channels = -1;
  for (size_t i = 1; i < 5; ++i) {
    if (!graph.is_constant(n.inputs[i])) return 0;
    const Tensor& p = graph.initializers.at(n.inputs[i]);
    if (p.dtype != DType::f32 || p.rank() != 1 || (channels >= 0 && p.numel() != channels)) return 0;
    channels = p.numel();
  }
  return channels > 0 ? channels : 0;
}

}  // namespace

int fold_code_tables(Graph& graph) {
  std::set<std::string> graph_outputs;
  for (const ValueInfo& out : graph.outputs) graph_outputs.insert(out.name);
  std::unique_ptr<Backend> backend;
  std::vector<bool> removed(graph.nodes.size(), false);
  std::vector<Node> tables;
  int folded = 0;
  for (size_t start = 0; start < graph.nodes.size(); ++start) {
    PairGrid in_grid;
    if (removed[start] || !pair_grid(graph, graph.nodes[start], in_grid)) continue;
    const std::string& x = graph.nodes[start].outputs[0];
    // The stretch: every later elementwise node whose inputs are x, the stretch's values or scalars, and
    // BatchNormalizations of x's values (one table per channel then: `channels`).
    std::set<std::string> values = {x};
    std::vector<size_t> stretch;
    int64_t channels = 1;
    for (size_t k = start + 1; k < graph.nodes.size(); ++k) {
      const Node& n = graph.nodes[k];
      if (removed[k]) continue;
      const int64_t per_channel = batch_norm_channels(graph, n);
      if (!elementwise(n) && per_channel == 0) continue;
      if (per_channel > 0 && channels > 1 && per_channel != channels) continue;
      bool inside = false, fits = true;
      for (size_t i = 0; i < n.inputs.size() && fits; ++i) {
        const std::string& in = n.inputs[i];
        if (in.empty()) continue;
        if (values.count(in)) inside = inside || i == 0 || per_channel == 0;
        else fits = per_channel > 0 ? i > 0 : graph.is_constant(in) && graph.initializers.at(in).numel() == 1 &&
                                                   (n.op_type != "QuantizeDequantize" || i > 0);
      }
      if (!inside || !fits) continue;
      stretch.push_back(k);
      values.insert(n.outputs[0]);
      if (per_channel > 0) channels = per_channel;
    }
    if (stretch.empty()) continue;
    // Exactly one value may leave the stretch, written by a pair: its end. x itself may have other readers.
    std::vector<std::string> leaving;
    std::set<size_t> members(stretch.begin(), stretch.end());
    for (size_t k = 0; k < graph.nodes.size(); ++k) {
      if (members.count(k) || removed[k]) continue;
      for (const std::string& in : graph.nodes[k].inputs)
        if (in != x && values.count(in)) leaving.push_back(in);
    }
    for (const std::string& v : values)
      if (v != x && graph_outputs.count(v)) leaving.push_back(v);
    std::sort(leaving.begin(), leaving.end());
    leaving.erase(std::unique(leaving.begin(), leaving.end()), leaving.end());
    if (leaving.size() != 1) continue;
    size_t end = stretch.back();
    for (size_t k : stretch)
      if (graph.nodes[k].outputs[0] == leaving[0]) end = k;
    PairGrid out_grid;
    if (graph.nodes[end].outputs[0] != leaving[0] || !pair_grid(graph, graph.nodes[end], out_grid)) continue;
    // Keep the part that leads to the end only (a branch that ends nowhere would be dropped with it).
    bool only_pairs = true;
    for (size_t k : stretch) only_pairs = only_pairs && graph.nodes[k].op_type == "QuantizeDequantize";
    if (only_pairs) continue;  // a pair after a pair: the planner moves codes already
    // The table: the stretch run on the 256 values of x's grid ([1, channels, 256]: every code in every channel).
    if (!backend) backend = make_backend("reference");
    std::map<std::string, Tensor> computed;
    const int64_t entries = 256 * channels;
    Tensor codes = Tensor::zeros_f32(channels > 1 ? Shape{1, channels, 256} : Shape{256}, "code table");
    for (int64_t e = 0; e < entries; ++e)
      codes.f()[e] = in_grid.scale * static_cast<float>(e % 256 + in_grid.min - in_grid.zero);
    computed[x] = codes;
    bool ran = true;
    for (size_t k : stretch) {
      const Node& n = graph.nodes[k];
      std::vector<const Tensor*> inputs;
      for (const std::string& in : n.inputs)
        inputs.push_back(in.empty() ? nullptr : computed.count(in) ? &computed.at(in) : &graph.initializers.at(in));
      std::vector<Tensor> outputs(1);
      try {
        std::unique_ptr<Op> op = make_op(n, graph);
        RunContext ctx{*backend, nullptr};
        op->run(ctx, inputs, outputs);
      } catch (const InvalidArgument&) {
        ran = false;
        break;
      }
      outputs[0].materialize();
      outputs[0].native.reset();
      if (!outputs[0].has_data() || outputs[0].dtype != DType::f32 || outputs[0].numel() != entries) {
        ran = false;
        break;
      }
      computed[n.outputs[0]] = outputs[0].as_float();
    }
    if (!ran) continue;
    std::vector<int64_t> table(static_cast<size_t>(entries));
    const float* y = computed.at(leaving[0]).f();
    bool finite = true;
    for (int64_t q = 0; q < entries; ++q) {
      finite = finite && std::isfinite(y[q]);
      // y lies on the end pair's grid: its code, moved to the u8 dialect
      table[q] = static_cast<int64_t>(std::nearbyint(y[q] / out_grid.scale)) + out_grid.zero - out_grid.min;
      finite = finite && table[q] >= 0 && table[q] <= 255;
    }
    if (!finite) continue;
    const Node& first = graph.nodes[start];
    const Node& last = graph.nodes[end];
    Node t;
    t.op_type = "CodeTable";
    t.name = last.name + "/table";
    t.inputs = {x, first.inputs[1], first.inputs.size() > 2 ? first.inputs[2] : "", last.inputs[1],
                last.inputs.size() > 2 ? last.inputs[2] : ""};
    t.outputs = {leaving[0]};
    t.attributes = last.attributes;  // _qmin / _qmax of the output type
    t.attributes["_table"] = Attribute::of_ints(std::move(table));
    t.attributes["_input_qmin"] = Attribute::of_ints({in_grid.min});
    if (channels > 1) t.attributes["_channels"] = Attribute::of_ints({channels});
    for (size_t k : stretch) removed[k] = true;
    tables.push_back(std::move(t));
    ++folded;
  }
  if (!folded) return 0;
  std::vector<Node> kept;
  for (size_t k = 0; k < graph.nodes.size(); ++k)
    if (!removed[k]) kept.push_back(std::move(graph.nodes[k]));
  // Tables go right after the pair that writes their input (order stays topological).
  std::vector<Node> ordered;
  for (Node& n : kept) {
    const std::string out = n.outputs.empty() ? "" : n.outputs[0];
    ordered.push_back(std::move(n));
    for (Node& t : tables)
      if (!t.op_type.empty() && t.inputs[0] == out) {
        ordered.push_back(std::move(t));
        t.op_type.clear();
      }
  }
  graph.nodes = std::move(ordered);
  return folded;
}

}  // namespace edgequant::engine
