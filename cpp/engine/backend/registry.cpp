#include "backend/registry.h"

#include <algorithm>

#include "common/error.h"

namespace edgequant::engine {

// Each backend's file defines its entry.
BackendInfo reference_backend_info();
BackendInfo checked_backend_info();
#if EDGEQUANT_WITH_ONEDNN
BackendInfo onednn_backend_info();
#endif
#if defined(__aarch64__)
BackendInfo arm_backend_info();
#endif

const std::vector<BackendInfo>& supported_backends() {
  static const std::vector<BackendInfo> list = {
#if defined(__aarch64__)
      arm_backend_info(),
#endif
#if EDGEQUANT_WITH_ONEDNN
      onednn_backend_info(),
#endif
      reference_backend_info(),
      checked_backend_info(),
  };
  return list;
}

std::vector<std::string> backend_names() {
  std::vector<std::string> names;
  for (const BackendInfo& info : supported_backends()) names.push_back(info.name);
  return names;
}

std::string default_backend() { return supported_backends().front().name; }

int int8_weight_bits() {
  static const int bits = [] {
    int narrowest = 8;
    for (const BackendInfo& info : supported_backends())
      if (info.int8_weight_bits) narrowest = std::min(narrowest, info.int8_weight_bits());
    return narrowest;
  }();
  return bits;
}

int int8_weight_bits(const std::string& name) {
  for (const BackendInfo& info : supported_backends())
    if (info.name == name) return info.int8_weight_bits ? info.int8_weight_bits() : 8;
  return 8;
}

std::unique_ptr<Backend> make_backend(const std::string& name) {
  std::string known;
  for (const BackendInfo& info : supported_backends()) {
    if (info.name == name) return info.make();
    known += (known.empty() ? "'" : ", '") + info.name + "'";
  }
  throw InvalidArgument("unknown backend '" + name + "' (this build has " + known + ")");
}

}  // namespace edgequant::engine
