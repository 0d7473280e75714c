// Graph rewrites before execution: fold BatchNormalization into the Conv (or ConvTranspose) before
// it, and fuse an activation (Relu, Clip with constant bounds, Swish, HardSwish, HardSigmoid, Gelu;
// the forms models spell out are made these by graph/activation_patterns.h first) into the Conv /
// Gemm / MatMul before it as a post-op (a Relu also into a ConvTranspose), and fuse an Add of a
// Conv's output and another tensor into the Conv as a sum post-op (the residual becomes the Conv's
// 4th input, attribute `_sum`; an activation after that Add then fuses as `_after_sum_activation`).
// Run in the order the Engine does: fold, activations, residual adds, activations. A producer is
// only rewritten when nothing else reads its output.
#pragma once
#include "graph/graph.h"

namespace edgequant::engine {

int fold_batch_norms(Graph& graph);   // returns the number folded
// A Relu after a MaxPool of a Conv's output moves before the pool (max and Relu commute), where it
// then fuses into the Conv: the exported Conv -> MaxPool -> Relu order costs a pass of its own.
int move_relus_before_max_pools(Graph& graph);  // returns the number moved
int fuse_activations(Graph& graph);   // returns the number fused
int fuse_residual_adds(Graph& graph);  // returns the number fused

}  // namespace edgequant::engine
