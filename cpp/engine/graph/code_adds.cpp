#include "graph/code_adds.h"

#include <cmath>
#include <limits>

#include "graph/graph_index.h"
#include "graph/qdq.h"

namespace edgequant::engine {
namespace {

// A scalar constant input, or `fallback` where the input is omitted; false where it is computed.
bool scalar_bound(const Graph& graph, const Node& n, size_t input, float fallback, float& bound) {
  if (input >= n.inputs.size() || n.inputs[input].empty()) {
    bound = fallback;
    return true;
  }
  if (!graph.is_constant(n.inputs[input])) return false;
  const Tensor& t = graph.initializers.at(n.inputs[input]);
  if (t.numel() != 1 || !t.is_real()) return false;
  bound = t.as_f32()[0];
  return !std::isnan(bound);
}

// The bounds of an activation that is a clamp of its input: Relu, Clip with constant bounds.
bool clamp_activation(const Graph& graph, const Node& n, float& lo, float& hi) {
  constexpr float inf = std::numeric_limits<float>::infinity();
  if (!n.domain.empty() || n.outputs.size() != 1 || n.inputs.empty()) return false;
  if (n.op_type == "Relu") {
    lo = 0;
    hi = inf;
    return n.inputs.size() == 1;
  }
  if (n.op_type != "Clip") return false;
  if (n.attributes.count("min") || n.attributes.count("max")) {  // opset < 11
    lo = n.attr_f("min", -inf);
    hi = n.attr_f("max", inf);
    return n.inputs.size() == 1 && lo <= hi;
  }
  return scalar_bound(graph, n, 1, -inf, lo) && scalar_bound(graph, n, 2, inf, hi) && lo <= hi;
}

}  // namespace

int fold_code_adds(Graph& graph) {
  GraphIndex index(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  int folded = 0;
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    const Node& add = graph.nodes[k];
    if (dead[k] || add.op_type != "Add" || !add.domain.empty() || add.inputs.size() != 2 || add.outputs.size() != 1)
      continue;
    PairGrid a, b, y;
    const int pa = index.producer(add.inputs[0]), pb = index.producer(add.inputs[1]);
    if (pa < 0 || pb < 0 || !written_grid(graph, graph.nodes[pa], a) || !written_grid(graph, graph.nodes[pb], b)) continue;
    // The sum, through a clamp or not, read by one pair alone.
    float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
    int next = index.only_reader(add.outputs[0]), activation = -1;
    if (next >= 0 && clamp_activation(graph, graph.nodes[next], lo, hi) &&
        graph.nodes[next].inputs[0] == add.outputs[0]) {
      activation = next;
      next = index.only_reader(graph.nodes[next].outputs[0]);
    }
    if (next < 0 || !pair_grid(graph, graph.nodes[next], y)) continue;
    const Node& end = graph.nodes[next];
    if (end.inputs[0] != (activation >= 0 ? graph.nodes[activation].outputs[0] : add.outputs[0])) continue;
    // (scale, zero point) inputs of the grid a node writes
    auto scale_of = [](const Node& n) { return n.inputs[output_grid_input(n)]; };
    auto zero_of = [](const Node& n) {
      const size_t at = output_grid_input(n) + 1;
      return n.inputs.size() > at ? n.inputs[at] : std::string();
    };
    const Node& first = graph.nodes[pa];
    const Node& second = graph.nodes[pb];
    Node sum;
    sum.op_type = "CodeAdd";
    sum.name = add.name + "/codes";
    sum.inputs = {add.inputs[0], scale_of(first), zero_of(first), add.inputs[1], scale_of(second), zero_of(second),
                  end.inputs[1], zero_of(end)};
    sum.outputs = end.outputs;
    sum.attributes = end.attributes;  // _qmin / _qmax of the output type
    sum.attributes["_input_qmin"] = Attribute::of_ints({a.min, b.min});
    sum.attributes["_clip"] = Attribute::of_floats({lo, hi});
    dead[k] = true;
    if (activation >= 0) dead[activation] = true;
    graph.nodes[next] = std::move(sum);  // where the end pair was: after both inputs, before every reader
    ++folded;
  }
  if (folded) erase_nodes(graph, dead);
  return folded;
}

}  // namespace edgequant::engine
