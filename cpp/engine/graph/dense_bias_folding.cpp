#include "graph/dense_bias_folding.h"

#include <cmath>
#include <vector>

#include "graph/graph_index.h"

namespace edgequant::engine {

int fold_bias_adds_into_matmuls(Graph& graph) {
  GraphIndex index(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  int folded = 0;
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    const Node& add = graph.nodes[k];
    if (add.op_type != "Add" || !add.domain.empty() || add.inputs.size() != 2 || add.outputs.size() != 1) continue;
    for (int side = 0; side < 2; ++side) {
      const std::string &constant = add.inputs[side], &value = add.inputs[1 - side];
      if (constant.empty() || !graph.is_constant(constant) || value.empty() || graph.is_constant(value)) continue;
      const int p = index.producer(value);
      if (p < 0 || dead[p] || index.readers(value) != 1) continue;
      Node& matmul = graph.nodes[p];
      if (matmul.op_type != "MatMul" || !matmul.domain.empty() || matmul.inputs.size() != 2 ||
          matmul.outputs.size() != 1 || matmul.has("_bias") || matmul.has("_activation") ||
          !graph.is_constant(matmul.inputs[1]))
        continue;
      const Tensor& w = graph.initializers.at(matmul.inputs[1]);
      const Tensor& c = graph.initializers.at(constant);
      if (w.dtype != DType::f32 || w.rank() != 2 || c.dtype != DType::f32 || !c.f32) continue;
      const int64_t n = w.shape[1];
      bool leading_ones = true;  // [1, ..., 1, n]: varies along the product's columns only
      for (int d = 0; d + 1 < c.rank(); ++d) leading_ones = leading_ones && c.shape[d] == 1;
      if (!leading_ones || (c.numel() != n && c.numel() != 1)) continue;
      Tensor bias = Tensor::zeros_f32({n});
      bool finite = true;
      for (int64_t j = 0; j < n; ++j) {
        bias.f()[j] = c.f()[c.numel() == 1 ? 0 : j];
        finite = finite && std::isfinite(bias.f()[j]);
      }
      if (!finite) continue;
      const std::string b_name = matmul.name + "/bias";
      graph.initializers[b_name] = bias;
      matmul.inputs.push_back(b_name);
      Attribute mark;
      mark.kind = Attribute::Kind::i;
      mark.i = 1;
      matmul.attributes["_bias"] = mark;
      mark.i = c.rank();  // a product of lower rank gains the Add's leading axes of 1
      matmul.attributes["_bias_rank"] = mark;
      index.absorb(graph, p, add);
      dead[k] = true;
      ++folded;
      break;
    }
  }
  erase_nodes(graph, dead);
  return folded;
}

}  // namespace edgequant::engine
