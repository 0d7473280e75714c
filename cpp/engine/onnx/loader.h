// Native ONNX loading: ModelProto bytes -> Graph, with no Python involved. Everything read from
// the file is checked (sizes, indices, types, topological order); a malformed or truncated model
// throws CorruptData, an unsupported feature InvalidArgument, each naming the node.
#pragma once
#include <string>

#include "graph/graph.h"

namespace edgequant::engine {

Graph load_onnx_bytes(const void* data, size_t size);
Graph load_onnx_file(const std::string& path);

}  // namespace edgequant::engine
