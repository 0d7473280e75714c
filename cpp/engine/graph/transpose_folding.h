// Consecutive Transposes composed into one: Transpose(q) of Transpose(p) is Transpose(p∘q), the
// first one removed when nothing else reads it; where the composition is the identity (transposes
// that cancel, as around a channel shuffle or a layout round trip), the pair goes and the readers
// read the first one's input (an Identity stays only where the value is a graph output or a
// subgraph reads it). Transposes without a `perm` (reverse the axes, rank unknown here) or with
// a malformed one are left alone: the op reports them.
#pragma once
#include "graph/graph.h"

namespace edgequant::engine {

int fold_transposes(Graph& graph);  // returns the number of Transposes removed

}  // namespace edgequant::engine
