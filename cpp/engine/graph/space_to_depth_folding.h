// YOLOv5's Focus layer as exporters write it: b² strided slices of one [N, C, H, W] value,
// x[:, :, i::b, j::b] for every (i, j) in [0, b)² (each a Slice of rows, then one of columns, or
// one Slice of both), concatenated on the channel axis. In the order (i, j) = (0, 0), (0, 1), ...
// that is ONNX's SpaceToDepth (DCR); in the order (0, 0), (1, 0), ... (YOLOv5's own) it is a
// SpaceToDepth with the block's columns first (attribute `_columns_first`, ops/depth_space.cpp).
// Either way one node reading x once, where the slices read it b² · 1.5 times and the Concat copied
// everything again. The slices must read nothing else and their outputs have no other reader.
// Negative axes count only on a value of known rank 4 (a graph input); axes 2 and 3 on a value of
// unknown rank take it as 4-D (SpaceToDepth refuses another rank by name).
#pragma once
#include "graph/graph.h"

namespace edgequant::engine {

int fold_strided_slices_into_space_to_depth(Graph& graph);  // returns the number of Concats rewritten

}  // namespace edgequant::engine
