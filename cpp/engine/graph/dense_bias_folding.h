// An Add of a constant bias after a MatMul by constant 2-D weights becomes the MatMul's own bias
// (its third input, marked `_bias`): PyTorch writes a Linear on inputs of rank > 2 as MatMul, then
// Add. One dense layer then adds the bias in its epilogue, an activation after it fuses into it
// (graph/passes.h), and the C export lowers it as one fully connected kernel. Only a bias of n
// values (shape [1, ..., 1, n] or all ones; `_bias_rank` keeps its rank, by which the Add would
// broadcast a product of lower rank) and only when nothing else reads the product.
#pragma once
#include "graph/graph.h"

namespace edgequant::engine {

int fold_bias_adds_into_matmuls(Graph& graph);  // returns the number of Adds folded

}  // namespace edgequant::engine
