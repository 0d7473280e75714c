// The backends this build has, in order of preference (the first is the default). Tests, the
// bindings and `edgequant-run` iterate over this list instead of naming backends, so a backend is
// tested on every backend-agnostic test the moment it is listed here. Adding one: a file with its
// Backend and a `BackendInfo <name>_backend_info()`, and one line in registry.cpp.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"

namespace edgequant::engine {

struct BackendInfo {
  std::string name;
  std::string summary;  // one line, for listings and error messages
  std::unique_ptr<Backend> (*make)();
  // The widest weight grid (QuantConfig::weight_bits) its INT8 kernels sum exactly on this CPU;
  // nullptr: 8 (exact 32-bit sums everywhere).
  int (*int8_weight_bits)() = nullptr;
};

const std::vector<BackendInfo>& supported_backends();
std::vector<std::string> backend_names();
// The first backend of the list: the fastest this build has.
std::string default_backend();
// The widest weight grid the backend called `name` sums exactly on this CPU: 8, or 7 (oneDNN
// without VNNI).
int int8_weight_bits(const std::string& name);
// The grid an Engine uses unless told otherwise: the narrowest any backend of this build needs on
// this CPU, so that INT8 outputs do not change with the backend (the reference stays the yardstick).
int int8_weight_bits();
// A new backend called `name`; InvalidArgument naming the known ones otherwise.
std::unique_ptr<Backend> make_backend(const std::string& name);

}  // namespace edgequant::engine
