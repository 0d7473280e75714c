#include "graph/data_movement_folding.h"

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/graph_index.h"

namespace edgequant::engine {
namespace {

// Whether the node only rearranges its first input's elements, by rules fixed at load: every other
// input is a constant (or absent), so for a given input shape the outputs are a fixed selection.
bool moves_data(const Node& node, const Graph& graph) {
  static const std::set<std::string> kinds = {"Reshape", "Flatten",  "Squeeze", "Unsqueeze", "Transpose",
                                              "Gather",  "Slice",    "Split",   "Identity"};
  if (!node.domain.empty() || !kinds.count(node.op_type) || node.inputs.empty() || node.inputs[0].empty()) return false;
  for (size_t i = 1; i < node.inputs.size(); ++i)
    if (!node.inputs[i].empty() && !graph.is_constant(node.inputs[i])) return false;
  return std::count(node.inputs.begin(), node.inputs.end(), node.inputs[0]) == 1;
}

}  // namespace

int fold_data_movement_chains(Graph& graph) {
  GraphIndex index(graph);
  std::unordered_map<std::string, std::vector<int>> readers;  // value -> nodes reading it
  for (size_t k = 0; k < graph.nodes.size(); ++k)
    for (const std::string& in : graph.nodes[k].inputs)
      if (!in.empty()) readers[in].push_back(static_cast<int>(k));
  std::vector<bool> folded(graph.nodes.size(), false);
  std::unordered_map<int, Node> fused_at;  // position -> the DataMovement node that goes there
  int removed = 0;
  // Whether `k` can join a chain as the only node reading `value`'s data.
  auto joins = [&](int k, const std::string& value) {
    return !folded[k] && moves_data(graph.nodes[k], graph) && graph.nodes[k].inputs[0] == value;
  };
  for (size_t start = 0; start < graph.nodes.size(); ++start) {
    if (folded[start] || !moves_data(graph.nodes[start], graph)) continue;
    std::vector<int> chain{static_cast<int>(start)};
    for (;;) {  // the linear part: each value read by the next node alone
      const Node& last = graph.nodes[chain.back()];
      if (last.outputs.size() != 1) break;
      const std::string& value = last.outputs[0];
      const std::vector<int>& next = readers[value];
      if (index.readers(value) != 1 || next.size() != 1 || !joins(next[0], value)) break;
      chain.push_back(next[0]);
    }
    // The fan-out at its end: several data-moving nodes that alone read the last value (the
    // Gathers picking a shuffle's branches).
    std::vector<int> tails;
    const Node& last = graph.nodes[chain.back()];
    if (last.outputs.size() == 1) {
      const std::string& value = last.outputs[0];
      const std::vector<int>& next = readers[value];
      bool fan = next.size() >= 2 && index.readers(value) == static_cast<int>(next.size());
      for (int t : next) fan = fan && joins(t, value);
      if (fan) tails = next;
    }
    std::vector<int> members = chain;
    members.insert(members.end(), tails.begin(), tails.end());
    const auto transpose = std::find_if(members.begin(), members.end(),
                                        [&](int k) { return graph.nodes[k].op_type == "Transpose"; });
    // one pass already, or free views; a fan-out is a shuffle whose transposes an optimizer merged away
    // (ONNX Runtime's pre-processing leaves yolo-fastestv2's as Reshape -> two Gathers)
    if (members.size() < 2 || (transpose == members.end() && tails.size() < 2)) continue;

    auto body = std::make_shared<Graph>();
    body->opset = graph.opset;
    ValueInfo in;
    in.name = graph.nodes[start].inputs[0];
    body->inputs.push_back(in);
    Node fused;
    fused.name = graph.nodes[transpose != members.end() ? *transpose : start].name;
    fused.op_type = "DataMovement";
    fused.inputs = {in.name};
    for (int k : tails.empty() ? std::vector<int>{chain.back()} : tails)
      for (const std::string& out : graph.nodes[k].outputs) {
        fused.outputs.push_back(out);
        ValueInfo info;
        info.name = out;
        body->outputs.push_back(info);
      }
    for (int k : members) {
      const Node& node = graph.nodes[k];
      for (size_t i = 1; i < node.inputs.size(); ++i)
        if (!node.inputs[i].empty()) body->initializers[node.inputs[i]] = graph.initializers.at(node.inputs[i]);
      body->nodes.push_back(node);
      folded[k] = true;
    }
    Attribute attribute;
    attribute.kind = Attribute::Kind::graph;
    attribute.graph = body;
    fused.attributes["body"] = attribute;
    // Where the first reader of the chain's end stood: everything the node reads comes before it,
    // everything reading its outputs after.
    fused_at[tails.empty() ? chain.back() : *std::min_element(tails.begin(), tails.end())] = std::move(fused);
    removed += static_cast<int>(members.size()) - 1;
  }
  if (fused_at.empty()) return 0;
  std::vector<Node> nodes;
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    auto it = fused_at.find(static_cast<int>(k));
    if (it != fused_at.end()) nodes.push_back(std::move(it->second));
    if (!folded[k]) nodes.push_back(std::move(graph.nodes[k]));
  }
  graph.nodes = std::move(nodes);
  return removed;
}

}  // namespace edgequant::engine
