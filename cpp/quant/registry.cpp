#include "quant/registry.h"

#include "common/error.h"

namespace edgequant::quant {

// Each defined in its family's .cpp. Adding a family: write quant/<name>.cpp with its accessor,
// declare it here and list it below (in the order sweeps list their curves).
const QuantizerFamily& midrise_family();
const QuantizerFamily& midtread_family();
const QuantizerFamily& mulaw_family();
const QuantizerFamily& deadzone_family();
const QuantizerFamily& minifloat_family();
const QuantizerFamily& affine_family();
const QuantizerFamily& prune_quantize_family();
const QuantizerFamily& power_of_two_family();

const std::vector<const QuantizerFamily*>& all_quantizers() {
  static const std::vector<const QuantizerFamily*> families = {
      &midrise_family(), &midtread_family(), &mulaw_family(),          &deadzone_family(),
      &minifloat_family(), &affine_family(), &prune_quantize_family(),
      &power_of_two_family()};
  return families;
}

const QuantizerFamily& quantizer_named(const std::string& name) {
  std::string known;
  for (const QuantizerFamily* family : all_quantizers()) {
    if (name == family->name) return *family;
    known += (known.empty() ? "" : ", ") + family->name;
  }
  throw InvalidArgument("unknown quantizer '" + name + "' (known: " + known + ")");
}

namespace {
const Value& find_value(const Values& values, const std::string& name) {
  for (const auto& [key, value] : values) {
    if (key == name) return value;
  }
  throw InvalidArgument("missing parameter '" + name + "'");
}
}  // namespace

bool has_value(const Values& values, const std::string& name) {
  for (const auto& entry : values) {
    if (entry.first == name) return true;
  }
  return false;
}

int64_t integer_value(const Values& values, const std::string& name) {
  const Value& value = find_value(values, name);
  require(std::holds_alternative<int64_t>(value), name + " must be an integer");
  return std::get<int64_t>(value);
}

double real_value(const Values& values, const std::string& name) {
  const Value& value = find_value(values, name);
  if (std::holds_alternative<int64_t>(value)) return static_cast<double>(std::get<int64_t>(value));
  require(std::holds_alternative<double>(value), name + " must be a real number");
  return std::get<double>(value);
}

bool boolean_value(const Values& values, const std::string& name) {
  const Value& value = find_value(values, name);
  require(std::holds_alternative<bool>(value), name + " must be a boolean");
  return std::get<bool>(value);
}

std::string text_value(const Values& values, const std::string& name) {
  const Value& value = find_value(values, name);
  require(std::holds_alternative<std::string>(value), name + " must be a string");
  return std::get<std::string>(value);
}

std::vector<int64_t> sweep_levels(int max_bits) {
  require(max_bits >= 2 && max_bits <= 24, "max_bits must be in [2, 24]");
  std::vector<int64_t> levels;
  for (int k = 2; k <= max_bits; ++k) levels.push_back(int64_t{1} << k);
  return levels;
}

}  // namespace edgequant::quant
