// Identity nodes dropped where the node before them can write their output itself. Exporters
// (PaddlePaddle's above all) put an Identity after most ops; each one hides its producer from
// the passes that match chains (an affine step or an activation after a Conv, written-out
// activations), so a Conv -> Add -> Identity -> Mul stayed three passes over the data.
//
// An Identity a -> b goes when a's producer is a node without subgraphs and the Identity is a's
// only reader (a is no graph output): the producer then writes b. Every value that remains keeps
// its name, so the names readers see (calibration tables, `save_quantized`) are those of the
// file. Identities of graph inputs, of constants or of values with other readers stay (they
// cost nothing at run time: the output shares the input's buffer).
#pragma once
#include "graph/graph.h"

namespace edgequant::engine {

int remove_identities(Graph& graph);  // returns the number removed

}  // namespace edgequant::engine
