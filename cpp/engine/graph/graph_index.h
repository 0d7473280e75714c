// Who produces each value of a graph and how many read it: what the rewriting passes
// (graph/passes.h, graph/activation_patterns.h, graph/transpose_folding.h) look up.
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/graph.h"

namespace edgequant::engine {

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
        if (!in.empty()) ++readers_[in], last_reader_[in] = static_cast<int>(k);
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
  // The one node that reads `value` (as the graph was when indexed), or -1: none, several, or a
  // graph output reads it.
  int only_reader(const std::string& value) const {
    auto it = last_reader_.find(value);
    return readers(value) == 1 && it != last_reader_.end() ? it->second : -1;
  }
  // Node `k` now writes `value` (it took over the output of a node it absorbed).
  void set_producer(const std::string& value, int k) { producer_[value] = k; }
  void forget(const std::string& value) { producer_.erase(value); }
  // Node p takes over the output of `absorbed`, a node reading p's output that a pass folds into
  // it: p writes absorbed's output from now on, and absorbed's inputs lose their reader.
  void absorb(Graph& graph, int p, const Node& absorbed) {
    for (const std::string& in : absorbed.inputs) remove_reader(in);
    forget(graph.nodes[p].outputs[0]);
    graph.nodes[p].outputs[0] = absorbed.outputs[0];
    set_producer(absorbed.outputs[0], p);
  }
  void add_reader(const std::string& value) { ++readers_[value]; }
  void remove_reader(const std::string& value) { --readers_[value]; }

 private:
  std::unordered_map<std::string, int> producer_, readers_, last_reader_;
};

// Drops the nodes marked dead, keeping the others' order.
inline void erase_nodes(Graph& graph, const std::vector<bool>& dead) {
  std::vector<Node> kept;
  for (size_t k = 0; k < graph.nodes.size(); ++k)
    if (!dead[k]) kept.push_back(std::move(graph.nodes[k]));
  graph.nodes = std::move(kept);
}

}  // namespace edgequant::engine
