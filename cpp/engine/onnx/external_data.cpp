#include "onnx/external_data.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "common/error.h"
#include "onnx/escaped.h"

namespace edgequant::engine {

namespace fs = std::filesystem;

namespace {

std::string entry(const ExternalDataEntries& entries, const std::string& key, const std::string& fallback) {
  for (const auto& kv : entries)
    if (kv.first == key) return kv.second;
  return fallback;
}

bool has_entry(const ExternalDataEntries& entries, const std::string& key) {
  for (const auto& kv : entries)
    if (kv.first == key) return true;
  return false;
}

// A decimal integer >= 0 (an optional '+'; surrounding spaces allowed, as Python's int() does).
uint64_t non_negative_integer(const std::string& text, const std::string& key, const std::string& where) {
  size_t begin = 0, end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  const bool negative = begin < end && text[begin] == '-';
  if (begin < end && (text[begin] == '+' || text[begin] == '-')) ++begin;
  const std::string what = where + ": external data " + key + " ";
  if (begin == end) throw InvalidArgument(what + "'" + escaped(text) + "' is not an integer");
  uint64_t value = 0;
  for (size_t k = begin; k < end; ++k) {
    if (!std::isdigit(static_cast<unsigned char>(text[k])))
      throw InvalidArgument(what + "'" + escaped(text) + "' is not an integer");
    const uint64_t digit = static_cast<uint64_t>(text[k] - '0');
    if (value > (UINT64_MAX - digit) / 10) throw InvalidArgument(what + "'" + escaped(text) + "' is too large");
    value = value * 10 + digit;
  }
  if (negative && value != 0) throw InvalidArgument(what + escaped(text) + " is negative");
  return value;
}

bool is_absolute_location(const std::string& location) {
  if (location[0] == '/' || location[0] == '\\') return true;
  // A Windows drive ("C:..."): refused on every platform, as the Python loader does.
  return location.size() >= 2 && location[1] == ':' && std::isalpha(static_cast<unsigned char>(location[0]));
}

// Whether `target` is `root` or lies below it (both absolute and normalised).
bool inside(const fs::path& target, const fs::path& root) {
  auto t = target.begin();
  for (auto r = root.begin(); r != root.end(); ++r, ++t)
    if (t == target.end() || *t != *r) return false;
  return true;
}

// The file `location` names inside `base_dir`, after every check of the module comment.
fs::path resolve_location(const std::string& base_dir, const std::string& location, const std::string& where) {
  if (location.empty() || location.find('\0') != std::string::npos)
    throw InvalidArgument(where + " is not a usable file name");
  if (is_absolute_location(location))
    throw InvalidArgument(where + " is an absolute path; external data must lie in the model's folder");
  std::error_code error;
  const fs::path root = fs::canonical(base_dir.empty() ? fs::path(".") : fs::path(base_dir), error);
  if (error)
    throw InvalidArgument(where + " cannot be resolved: the model's folder '" + escaped(base_dir) + "': " +
                          error.message());
  // weakly_canonical follows every symlink of the part that exists: a link pointing outside the
  // folder is caught like `..` is.
  const fs::path target = fs::weakly_canonical(root / location, error);
  if (error) throw InvalidArgument(where + " cannot be resolved: " + error.message());
  if (!inside(target, root))
    throw InvalidArgument(where + " escapes the model's folder '" + escaped(root.string()) + "'");
  const fs::file_status status = fs::status(target, error);
  if (!fs::exists(status))
    throw InvalidArgument(where + ": external data file not found ('" + escaped(target.string()) + "')");
  if (!fs::is_regular_file(status)) throw InvalidArgument(where + " is not a regular file");
  return target;
}

}  // namespace

std::string read_external_data(const std::string& base_dir, const std::string& tensor_name,
                               const ExternalDataEntries& entries, size_t expected_bytes) {
  const std::string location = entry(entries, "location", "");
  const std::string name = escaped(tensor_name), shown = escaped(location);
  const fs::path path =
      resolve_location(base_dir, location, "tensor '" + name + "': external data location '" + shown + "'");
  const std::string where = "tensor '" + name + "' (external data '" + shown + "')";
  const uint64_t offset = non_negative_integer(entry(entries, "offset", "0"), "offset", where);
  std::error_code error;
  const uint64_t file_size = fs::file_size(path, error);
  if (error) throw InvalidArgument(where + ": cannot read its size: " + error.message());
  const uint64_t length = has_entry(entries, "length")
                              ? non_negative_integer(entry(entries, "length", ""), "length", where)
                              : (offset < file_size ? file_size - offset : 0);
  if (offset > file_size || length > file_size - offset)
    throw InvalidArgument(where + " needs " + std::to_string(length) + " bytes at offset " + std::to_string(offset) +
                          " but the file has only " + std::to_string(file_size));
  if (length != expected_bytes)
    throw InvalidArgument(where + " holds " + std::to_string(length) + " bytes, its shape and type need " +
                          std::to_string(expected_bytes));
  std::ifstream file(path, std::ios::binary);
  std::string bytes(length, '\0');
  if (!file.seekg(static_cast<std::streamoff>(offset)) ||
      !file.read(bytes.data(), static_cast<std::streamsize>(length)))
    throw InvalidArgument(where + ": reading " + std::to_string(length) + " bytes at offset " + std::to_string(offset) +
                          " failed");
  return bytes;
}

}  // namespace edgequant::engine
