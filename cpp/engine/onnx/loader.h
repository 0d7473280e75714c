// Native ONNX loading: ModelProto bytes -> Graph, with no Python involved. Everything read from
// the file is checked (sizes, indices, types, topological order); a malformed or truncated model
// throws CorruptData, an unsupported feature InvalidArgument, each naming the node.
#pragma once
#include <string>

#include "graph/graph.h"

namespace edgequant::engine {

// `base_dir`: the folder external-data locations are relative to (onnx/external_data.h for the
// rules); empty: a model keeping tensors in external files is refused.
Graph load_onnx_bytes(const void* data, size_t size, const std::string& base_dir = "");
// External data is read from the file's folder.
Graph load_onnx_file(const std::string& path);

}  // namespace edgequant::engine
