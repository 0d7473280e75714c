#include "graph/identity_removal.h"

#include <vector>

#include "graph/graph_index.h"

namespace edgequant::engine {
int remove_identities(Graph& graph) {
  GraphIndex index(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  int removed = 0;
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    const Node& id = graph.nodes[k];
    if (id.op_type != "Identity" || !id.domain.empty() || id.inputs.size() != 1 || id.outputs.size() != 1 ||
        id.inputs[0].empty() || id.outputs[0].empty())
      continue;
    const std::string& a = id.inputs[0];
    const int p = index.producer(a);
    if (p < 0 || dead[p] || index.readers(a) != 1 || graph.nodes[p].has_subgraph()) continue;
    for (std::string& out : graph.nodes[p].outputs)
      if (out == a) out = id.outputs[0];
    index.forget(a);
    index.remove_reader(a);
    index.set_producer(id.outputs[0], p);  // a chain Identity -> Identity goes on from here
    dead[k] = true;
    ++removed;
  }
  erase_nodes(graph, dead);
  return removed;
}

}  // namespace edgequant::engine
