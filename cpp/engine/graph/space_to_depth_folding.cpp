#include "graph/space_to_depth_folding.h"

#include <cmath>
#include <limits>
#include <vector>

#include "graph/graph_index.h"

namespace edgequant::engine {
namespace {

// One strided Slice's effect on the rows (axis 2) and columns (axis 3): the first index and the
// step of each (0 / 0 where it does not slice that axis).
struct Cut {
  int64_t row_start = 0, row_step = 0, column_start = 0, column_step = 0;
};

// The rank of `value` where the graph states it (a graph input), else 0.
int64_t known_rank(const Graph& graph, const std::string& value) {
  for (const ValueInfo& v : graph.inputs)
    if (v.name == value) return static_cast<int64_t>(v.shape.size());
  return 0;
}

// Adds a Slice node's cuts to `cut`; false unless every axis it slices is the rows or the columns,
// from a start in [0, b) with step b to the end (an end past any size), and each only once.
bool add_cuts(const Graph& graph, const Node& slice, int64_t b, int64_t rank, Cut& cut) {
  if (slice.op_type != "Slice" || !slice.domain.empty() || slice.inputs.size() != 5 || slice.outputs.size() != 1)
    return false;
  for (size_t k = 1; k < 5; ++k)
    if (!graph.is_constant(slice.inputs[k])) return false;
  std::vector<int64_t> parts[4];
  for (size_t k = 1; k < 5; ++k) {
    const Tensor& t = graph.initializers.at(slice.inputs[k]);
    if (t.dtype != DType::i64 && t.dtype != DType::i32) return false;
    parts[k - 1] = t.as_i64();
  }
  const std::vector<int64_t>&starts = parts[0], &ends = parts[1], &axes = parts[2], &steps = parts[3];
  if (starts.empty() || ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    return false;
  for (size_t k = 0; k < starts.size(); ++k) {
    int64_t axis = axes[k];
    if (axis < 0 && rank == 4) axis += 4;
    const bool rows = axis == 2, columns = axis == 3;
    if ((!rows && !columns) || steps[k] != b || starts[k] < 0 || starts[k] >= b ||
        ends[k] < std::numeric_limits<int32_t>::max())
      return false;
    int64_t& step = rows ? cut.row_step : cut.column_step;
    if (step != 0) return false;
    step = b;
    (rows ? cut.row_start : cut.column_start) = starts[k];
  }
  return true;
}

}  // namespace

int fold_strided_slices_into_space_to_depth(Graph& graph) {
  GraphIndex index(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  int folded = 0;
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    Node& concat = graph.nodes[k];
    if (concat.op_type != "Concat" || !concat.domain.empty() || concat.outputs.size() != 1 ||
        concat.attr_i("axis", 0) != 1)
      continue;
    const int64_t count = static_cast<int64_t>(concat.inputs.size());
    const int64_t b = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(count))));
    if (b < 2 || b * b != count) continue;
    std::string source;
    std::vector<int> slices;          // the nodes to drop
    std::vector<int64_t> positions;   // each input's (i, j) as i * b + j
    bool match = true;
    for (const std::string& value : concat.inputs) {
      // Up to two Slices back from the Concat's input, each read by nothing else.
      std::vector<int> chain;
      std::string at = value;
      while (chain.size() < 2) {
        const int p = index.producer(at);
        if (at.empty() || p < 0 || dead[p] || index.readers(at) != 1 || graph.nodes[p].op_type != "Slice" ||
            graph.nodes[p].inputs.empty())
          break;
        chain.push_back(p);
        at = graph.nodes[p].inputs[0];
      }
      // The first Slice alone, or both, make the cut; negative axes need the source's rank.
      Cut cut;
      size_t used = 0;
      for (size_t n = 1; n <= chain.size() && used == 0; ++n) {
        const std::string& from = graph.nodes[chain[n - 1]].inputs[0];
        const int64_t rank = known_rank(graph, from);
        Cut trial;
        bool ok = true;
        for (size_t q = 0; q < n && ok; ++q) ok = add_cuts(graph, graph.nodes[chain[q]], b, rank, trial);
        if (ok && trial.row_step != 0 && trial.column_step != 0 && (rank == 0 || rank == 4)) {
          cut = trial;
          used = n;
          at = from;
        }
      }
      if (used == 0 || (!source.empty() && at != source)) {
        match = false;
        break;
      }
      source = at;
      slices.insert(slices.end(), chain.begin(), chain.begin() + static_cast<std::ptrdiff_t>(used));
      positions.push_back(cut.row_start * b + cut.column_start);
    }
    if (!match) continue;
    bool rows_first = true, columns_first = true;
    for (int64_t q = 0; q < count; ++q) {
      rows_first = rows_first && positions[q] == q;
      columns_first = columns_first && positions[q] == (q % b) * b + q / b;
    }
    if (!rows_first && !columns_first) continue;
    Node space;
    space.name = concat.name;
    space.op_type = "SpaceToDepth";
    space.inputs = {source};
    space.outputs = concat.outputs;
    Attribute block, order;
    block.kind = order.kind = Attribute::Kind::i;
    block.i = b;
    order.i = 1;
    space.attributes["blocksize"] = block;
    if (!rows_first) space.attributes["_columns_first"] = order;
    for (int s : slices) dead[s] = true;
    concat = space;
    ++folded;
  }
  erase_nodes(graph, dead);
  return folded;
}

}  // namespace edgequant::engine
