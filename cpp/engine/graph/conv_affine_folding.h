// A Mul or Add of a Conv's output by a constant that is the same over each output channel (a
// scalar, or shape [oc, 1, 1] / [1, oc, 1, 1] and the like) folded into the Conv's weights and
// bias: exporters write a conv's bias (Paddle: Conv, then Add of a reshaped bias) or a per-channel
// scale (re-parameterised blocks) as separate ops, which would otherwise keep an activation after
// them from fusing. After a fused activation (a second call, after graph/passes.h's fusions) a
// scalar Mul / Add becomes an affine step after the activation (PP-LCNetV3's learnable affine
// blocks: HardSwish, then · a + b). Only when nothing else reads the Conv's output.
#pragma once
#include "graph/graph.h"

namespace edgequant::engine {

int fold_affine_into_convs(Graph& graph);  // returns the number of Mul / Add nodes folded

}  // namespace edgequant::engine
