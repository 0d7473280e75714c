#include "graph/transpose_folding.h"

#include <set>
#include <vector>

#include "graph/graph_index.h"

namespace edgequant::engine {
namespace {

// The node's perm with negative axes resolved, or {} when it has none or it is not a permutation.
std::vector<int64_t> permutation(const Node& node) {
  std::vector<int64_t> perm = node.attr_ints("perm");
  const int64_t rank = static_cast<int64_t>(perm.size());
  std::vector<bool> seen(perm.size(), false);
  for (int64_t& p : perm) {
    if (p < 0) p += rank;
    if (p < 0 || p >= rank || seen[p]) return {};
    seen[p] = true;
  }
  return perm;
}

bool is_identity(const std::vector<int64_t>& perm) {
  for (size_t k = 0; k < perm.size(); ++k)
    if (perm[k] != static_cast<int64_t>(k)) return false;
  return true;
}

}  // namespace

int fold_transposes(Graph& graph) {
  GraphIndex index(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  int removed = 0;
  std::set<std::string> cancelled;  // outputs of the Identities the cancelling pairs became
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    Node& second = graph.nodes[k];
    if (second.op_type != "Transpose" || !second.domain.empty() || second.inputs.size() != 1 ||
        second.outputs.size() != 1)
      continue;
    const int f = index.producer(second.inputs[0]);
    if (f < 0 || dead[f]) continue;
    const Node& first = graph.nodes[f];
    if (first.op_type != "Transpose" || !first.domain.empty() || first.inputs.size() != 1 || first.outputs.size() != 1)
      continue;
    const std::vector<int64_t> p = permutation(first), q = permutation(second);
    if (p.empty() || p.size() != q.size()) continue;
    // second's output axis i is first's output axis q[i], which is the input's axis p[q[i]].
    std::vector<int64_t> composed(q.size());
    for (size_t i = 0; i < q.size(); ++i) composed[i] = p[q[i]];
    index.remove_reader(second.inputs[0]);
    if (index.readers(second.inputs[0]) == 0) {
      for (const std::string& in : first.inputs) index.remove_reader(in);
      index.forget(first.outputs[0]);
      dead[f] = true;
      ++removed;
    }
    second.inputs[0] = first.inputs[0];
    index.add_reader(second.inputs[0]);
    if (!is_identity(composed)) {
      second.attributes["perm"].ints = composed;
      continue;
    }
    second.op_type = "Identity";
    second.attributes.clear();
    cancelled.insert(second.outputs[0]);
    ++removed;
  }
  erase_nodes(graph, dead);
  // The Identities left by transposes that cancel: readers read the input instead.
  std::set<std::string> outputs;
  for (const ValueInfo& out : graph.outputs) outputs.insert(out.name);
  std::vector<bool> gone(graph.nodes.size(), false);
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    const Node& id = graph.nodes[k];
    if (id.op_type != "Identity" || !cancelled.count(id.outputs[0]) || outputs.count(id.outputs[0])) continue;
    bool renamable = true;
    for (const Node& n : graph.nodes)
      for (const std::string& in : n.inputs) renamable = renamable && !(in == id.outputs[0] && n.has_subgraph());
    if (!renamable) continue;
    for (Node& n : graph.nodes)
      for (std::string& in : n.inputs)
        if (in == id.outputs[0]) in = id.inputs[0];
    gone[k] = true;
  }
  erase_nodes(graph, gone);
  return removed;
}

}  // namespace edgequant::engine
