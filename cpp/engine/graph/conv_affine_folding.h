// A Mul or Add of a Conv's output by a constant that is the same over each output channel (a
// scalar, or shape [oc, 1, 1] / [1, oc, 1, 1] and the like) folded into the Conv's weights and
// bias: exporters write a conv's bias (Paddle: Conv, then Add of a reshaped bias) or a per-channel
// scale (re-parameterised blocks) as separate ops, which would otherwise keep an activation after
// them from fusing. Only when nothing else reads the Conv's output, before any post-op is fused.
#pragma once
#include "graph/graph.h"

namespace edgequant::engine {

int fold_affine_into_convs(Graph& graph);  // returns the number of Mul / Add nodes folded

}  // namespace edgequant::engine
