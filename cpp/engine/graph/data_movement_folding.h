// Chains of ops that only move data (Reshape, Flatten, Squeeze, Unsqueeze, Transpose, and Gather,
// Slice, Split with constant indices) that contain a Transpose or end in several Gathers / Slices
// reading one value, folded into one DataMovement node
// (ops/data_movement.cpp). Exported channel shuffles are such chains: Reshape -> Transpose ->
// Reshape, then a Gather or a Split per branch, four passes over the data that the folded node
// does in one, copying whole runs (a channel's plane) at a time.
//
// The chain goes into the node's `body` attribute as a subgraph (its constants with it); the node
// reads the chain's input and writes the outputs nodes after the chain read (the last node's, or
// those of the Gathers / Slices / Split that alone read it). Values inside the chain must have no
// other reader and not be graph outputs.
#pragma once
#include "graph/graph.h"

namespace edgequant::engine {

int fold_data_movement_chains(Graph& graph);  // returns the number of nodes folded away

}  // namespace edgequant::engine
