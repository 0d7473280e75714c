#include "graph/code_average_pools.h"

#include "graph/graph_index.h"
#include "graph/qdq.h"

namespace edgequant::engine {
namespace {

// The pool's windows count no padding (TFLite's never do) and are not dilated.
bool integer_average_pool(const Node& n) {
  if (!n.domain.empty() || n.inputs.size() != 1 || n.outputs.size() != 1) return false;
  if (n.op_type == "GlobalAveragePool") return true;
  if (n.op_type != "AveragePool" || n.attr_i("count_include_pad", 0) != 0) return false;
  for (int64_t d : n.attr_ints("dilations", {1, 1}))
    if (d != 1) return false;
  return true;
}

}  // namespace

int fold_code_average_pools(Graph& graph) {
  GraphIndex index(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  int folded = 0;
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    const Node& pool = graph.nodes[k];
    if (!integer_average_pool(pool)) continue;
    const int producer = index.producer(pool.inputs[0]), next = index.only_reader(pool.outputs[0]);
    if (producer < 0 || next < 0) continue;
    PairGrid x, y;
    if (!written_grid(graph, graph.nodes[producer], x) || !pair_grid(graph, graph.nodes[next], y)) continue;
    const Node& end = graph.nodes[next];
    if (end.inputs[0] != pool.outputs[0] || x.scale != y.scale || x.zero != y.zero || x.min != y.min) continue;
    const Node& first = graph.nodes[producer];
    const size_t at = output_grid_input(first);
    Node average;
    average.op_type = "CodeAveragePool";
    average.name = pool.name + "/codes";
    average.inputs = {pool.inputs[0], first.inputs[at], first.inputs.size() > at + 1 ? first.inputs[at + 1] : "",
                      end.inputs[1], end.inputs.size() > 2 ? end.inputs[2] : ""};
    average.outputs = end.outputs;
    average.attributes = pool.attributes;
    for (const auto& [name, value] : end.attributes) average.attributes[name] = value;  // _qmin / _qmax
    average.attributes["_global"] = Attribute::of_ints({pool.op_type == "GlobalAveragePool" ? 1 : 0});
    average.attributes["_input_qmin"] = Attribute::of_ints({x.min});
    dead[k] = true;
    graph.nodes[next] = std::move(average);  // where the end pair was: after the input, before every reader
    ++folded;
  }
  if (folded) erase_nodes(graph, dead);
  return folded;
}

}  // namespace edgequant::engine
