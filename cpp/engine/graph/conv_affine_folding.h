// A Mul or Add of a Conv's output by a constant that is the same over each output channel (a
// scalar, or shape [oc, 1, 1] / [1, oc, 1, 1] and the like) folded into the Conv's weights and
// bias: exporters write a conv's bias (Paddle: Conv, then Add of a reshaped bias) or a per-channel
// scale (re-parameterised blocks) as separate ops, which would otherwise keep an activation after
// them from fusing. After a fused activation (a second call, after graph/passes.h's fusions) a
// scalar Mul / Add becomes an affine step after the activation (PP-LCNetV3's learnable affine
// blocks: HardSwish, then · a + b). Only when nothing else reads the Conv's output. A ConvTranspose
// (a DB text detector's upsampling head: ConvTranspose, Add of a reshaped bias, BatchNormalization,
// Relu) takes the per-channel ones the same way, on its own weight layout.
#pragma once
#include "graph/graph.h"

namespace edgequant::engine {

int fold_affine_into_convs(Graph& graph);  // returns the number of Mul / Add nodes folded

// Whether `node` is a Conv or ConvTranspose of the default domain whose output channels its weights
// scale: Conv's weights are [oc, ic/g, k...], ConvTranspose's [ic, oc/g, k...].
bool scales_output_channels(const Node& node);
// The number of output channels of such a node's weights `w`, or 0 where their shape or the node's
// group cannot hold them (the op reports that when it is built).
int64_t weight_output_channels(const Node& node, const Tensor& w);
// `w` with each output channel o's values times gains[o] (weight_output_channels(node, w) of them).
Tensor scale_output_channels(const Node& node, const Tensor& w, const std::vector<float>& gains);

}  // namespace edgequant::engine
