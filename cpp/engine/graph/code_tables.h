// Quantized models spell activations out between their pairs: YOLOv8's SiLU is Conv -> pair ->
// Sigmoid -> pair -> Mul(the first pair's output, the sigmoid's) -> pair, PP-LCNet's HardSwish and
// EfficientNet's swish alike. Such a stretch of elementwise ops reads one 8-bit grid and ends at one
// pair, so the 256 codes of its input decide its output: it becomes one CodeTable node (out =
// table[code]), its table computed at load by running the stretch's own ops on the 256 values of
// the input grid (the reference backend). Where the stretch ran in float over every element (three
// passes and two roundings for a SiLU), the table is one lookup, exact: the same ops on the same
// values.
#pragma once
#include "graph/graph.h"

namespace edgequant::engine {

// Replaces each such stretch by a CodeTable node: inputs (x, x_scale, x_zero, y_scale, y_zero) —
// x the first pair's output, y's grid the last pair's — attributes `_table` (the 256 output codes,
// indexed by the input code, both on the u8 dialect: an int8 type's codes + 128), `_qmin` / `_qmax`
// of the output type. Returns the number of stretches replaced.
int fold_code_tables(Graph& graph);

}  // namespace edgequant::engine
