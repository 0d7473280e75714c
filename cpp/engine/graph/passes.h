// Graph rewrites before execution: fold BatchNormalization into the Conv before it, and fuse an
// activation (Relu, Clip with constant bounds, SiLU written as x·sigmoid(x)) into the Conv / Gemm
// / MatMul before it as a post-op. A producer is only rewritten when nothing else reads its output.
#pragma once
#include "graph/graph.h"

namespace edgequant::engine {

int fold_batch_norms(Graph& graph);   // returns the number folded
int fuse_activations(Graph& graph);   // returns the number fused

}  // namespace edgequant::engine
