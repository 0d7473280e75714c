// Output dtypes and shapes of a node from its inputs' dtypes and shapes, without running it: the
// rules constant folding uses to know the shape a Shape node reads (graph/constant_folding.h).
// Rules cover the ops whose output shape is cheap to state and whose kernels are costly to run
// (Conv, MatMul, Gemm) and the elementwise ops; for the others the folding pass runs the op on
// zeros instead.
#pragma once
#include <vector>

#include "graph/graph.h"

namespace edgequant::engine {

struct StaticValue {
  bool known = false;  // false: omitted input, or its shape is not known at load
  DType dtype = DType::f32;
  Shape shape;
};

// True and `outputs` filled (one per node output) when a rule covers the node and its known inputs.
bool static_output_shapes(const Node& node, const Graph& graph, const std::vector<StaticValue>& inputs,
                          std::vector<StaticValue>& outputs);

}  // namespace edgequant::engine
