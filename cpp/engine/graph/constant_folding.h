// Load-time constant folding. Every node whose inputs are all constants (initializers, or outputs
// folded before it) is run once with the engine's own ops on the reference backend and replaced
// by the initializer it computes; a Shape or Size of a tensor whose shape is known at load (from
// the model's fixed input shapes, through graph/static_shapes.h's rules or a run of the op on
// zeros) becomes a constant too; an If whose condition is constant is replaced by its chosen
// branch. Repeated to a fixed point, so the subgraphs exported models use to compute shapes
// (Shape -> Gather -> Cast -> ConstantOfShape / Range / Expand / Equal / Where -> Reshape) leave
// the graph, and a model that used an op only there runs without it. A value that depends on a
// symbolic input dim is left to run time. Constants larger than 4 Mi elements are not folded
// (they would cost memory for a one-off computation).
#pragma once
#include "graph/graph.h"

namespace edgequant::engine {

struct FoldingStats {
  int folded_nodes = 0;  // nodes replaced by initializers (Shape / Size of known shapes included)
  int inlined_ifs = 0;   // If nodes replaced by their branch
};

FoldingStats fold_constants(Graph& graph);

}  // namespace edgequant::engine
