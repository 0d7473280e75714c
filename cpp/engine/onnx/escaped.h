// Text read from a model, made safe for an error message: printable ASCII kept, every other byte
// shown as \xNN (a message reaches Python as str, which needs valid UTF-8 and no NUL).
#pragma once
#include <cstdio>
#include <string>

namespace edgequant::engine {

inline std::string escaped(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}

}  // namespace edgequant::engine
