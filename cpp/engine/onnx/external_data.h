// Tensor bytes kept in a side file ("external data"), read only from inside the model's folder.
// The rules are python/edgequant/onnx/external_data.py's: a model is untrusted input, so a
// location that is empty, absolute, or that leaves the folder (`..`, a symlink) is refused, and
// the offset / length are checked against the file before anything is read.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace edgequant::engine {

// The key/value entries of a TensorProto's external_data (location, offset, length, ...).
using ExternalDataEntries = std::vector<std::pair<std::string, std::string>>;

// The `expected_bytes` bytes of tensor `tensor_name` that `entries` place in a file under
// `base_dir`. Throws InvalidArgument naming the tensor and the location when a rule is broken,
// the file is missing, or it holds a length other than `expected_bytes`.
std::string read_external_data(const std::string& base_dir, const std::string& tensor_name,
                               const ExternalDataEntries& entries, size_t expected_bytes);

}  // namespace edgequant::engine
