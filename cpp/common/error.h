// Exceptions the core throws. The binding maps each to one Python exception type, so a C++
// error always reaches the user as a Python exception that names its cause.
#pragma once
#include <stdexcept>
#include <string>
#include <type_traits>

namespace edgequant {

// A parameter or an input is outside what the function accepts (-> ValueError).
struct InvalidArgument : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Encoded data is truncated, corrupted or of an unknown format version (-> ValueError).
struct CorruptData : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws InvalidArgument(message) unless condition holds.
inline void require(bool condition, const std::string& message) {
  if (!condition) throw InvalidArgument(message);
}
// A literal message: no std::string is built unless the check fails (the overload above made one,
// a heap allocation past 15 characters, on every call: AffineFormat's check ran on every INT8 layer run).
inline void require(bool condition, const char* message) {
  if (!condition) throw InvalidArgument(message);
}
// The message as a callable, built only when the check fails: for checks on every run.
template <class MakeMessage, class = std::enable_if_t<std::is_invocable_v<const MakeMessage&>>>
void require(bool condition, const MakeMessage& message) {
  if (!condition) throw InvalidArgument(message());
}

}  // namespace edgequant
