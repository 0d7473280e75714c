// Activations that exported models spell out in elementwise ops, recognised as the one op they
// compute so that graph/passes.h can fuse them into the Conv / Gemm / MatMul before them:
//   x · Sigmoid(x)                                        -> Swish(x)
//   Relu6(x + 3) / 6        (or · 1/6)                    -> HardSigmoid(x), alpha 1/6, beta 0.5
//   x · HardSigmoid(x)      (alpha 1/6, beta 0.5)         -> HardSwish(x)
//   x · Relu6(x + 3) / 6    (or · 1/6)                    -> HardSwish(x)
//   x · (1 + Erf(x / sqrt 2)) · 0.5  (any order of the factors; or x · 1/sqrt 2) -> Gelu(x)
// Relu6 is Clip(0, 6) (bounds as attributes or constant inputs), Min(Max(·, 0), 6) or
// Max(Min(·, 6), 0). The constants must be scalars of exactly 3, 0, 6, 1 and 0.5 (1/6, sqrt 2 and 1/sqrt 2
// within float rounding: a relative 1e-6), and every intermediate value must have no reader besides the
// pattern (nor be a graph output); otherwise the nodes are left as they are. The last node of a
// pattern becomes the new op (its output keeps its name), the others are removed.
#pragma once
#include "graph/graph.h"

namespace edgequant::engine {

int recognise_activation_patterns(Graph& graph);  // returns the number of patterns replaced

}  // namespace edgequant::engine
