// The quantizer families, declared once. Each family's .cpp defines a QuantizerFamily — its name,
// its parameters with their valid ranges, its sweep grid and its kernels (fast and scalar
// reference, type-erased below) — and registry.cpp lists it. The bindings, Python's QUANTIZERS,
// the sweep grid, the CLI flags and the registry-wide tests all read all_quantizers(), so a new
// family is bound, swept, offered by the CLI and tested the moment it is listed.
#pragma once
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "quant/elementwise.h"

namespace edgequant::quant {

// A parameter value as the registry, the bindings and Python exchange it.
using Value = std::variant<bool, int64_t, double, std::string>;
// Named values in declaration order (the order of the Python constructor's arguments).
using Values = std::vector<std::pair<std::string, Value>>;

enum class ParameterKind {
  integer,  // an int in [low, high]
  real,     // a finite float within the bounds (low_open / high_open: strict)
  boolean,
  choice,   // one of `choices`
  range,    // the range half-width: a finite float > 0, or a range strategy string ("max")
};

// The high bound of a parameter that has none.
constexpr double kUnbounded = std::numeric_limits<double>::infinity();

struct Parameter {
  std::string name;
  ParameterKind kind;
  std::string help;  // one line, for the CLI and the docs
  double low = 0, high = 0;
  bool low_open = false, high_open = false;
  std::vector<std::string> choices;
  bool nullable = false;  // None is allowed: the family computes the value (e.g. minifloat's bias)
  // Booleans: the command-line switch that sets the opposite of the default (e.g. "asymmetric").
  std::string switch_name;

  // A constructor rather than aggregate initialisation: declarations list only what they need.
  Parameter(std::string name_, ParameterKind kind_, std::string help_, double low_ = 0, double high_ = 0,
            bool low_open_ = false, bool high_open_ = false, std::vector<std::string> choices_ = {},
            bool nullable_ = false, std::string switch_name_ = {})
      : name(std::move(name_)), kind(kind_), help(std::move(help_)), low(low_), high(high_), low_open(low_open_),
        high_open(high_open_), choices(std::move(choices_)), nullable(nullable_), switch_name(std::move(switch_name_)) {}
};

// One quantizer's encode / quantize-dequantize / decode over arrays, fast (vectorised,
// multi-threaded, quant/elementwise.h) and scalar reference. Each returns the number of bad
// elements: non-finite inputs, or symbols outside the alphabet for decode.
class QuantizerKernels {
 public:
  virtual ~QuantizerKernels() = default;
  virtual int64_t encode(const float* src, int64_t n, int32_t* dst) const = 0;
  virtual int64_t encode(const double* src, int64_t n, int32_t* dst) const = 0;
  virtual int64_t quantize(const float* src, int64_t n, float* dst) const = 0;
  virtual int64_t quantize(const double* src, int64_t n, float* dst) const = 0;
  virtual int64_t decode(const int32_t* src, int64_t n, float* dst) const = 0;
  virtual int64_t encode_reference(const float* src, int64_t n, int32_t* dst) const = 0;
  virtual int64_t encode_reference(const double* src, int64_t n, int32_t* dst) const = 0;
  virtual int64_t quantize_reference(const float* src, int64_t n, float* dst) const = 0;
  virtual int64_t quantize_reference(const double* src, int64_t n, float* dst) const = 0;
  // Derived constants worth showing (step, max_symbol, ...), for Python's properties and tests.
  virtual std::vector<std::pair<std::string, double>> attributes() const = 0;
};

// The kernels of an op struct that follows quant/elementwise.h.
template <class Op>
class KernelsOf final : public QuantizerKernels {
 public:
  using Describe = std::vector<std::pair<std::string, double>> (*)(const Op&);
  KernelsOf(Op op, Describe describe) : op_(std::move(op)), describe_(describe) {}
  const Op& op() const { return op_; }

  int64_t encode(const float* src, int64_t n, int32_t* dst) const override { return quant::encode(op_, src, n, dst); }
  int64_t encode(const double* src, int64_t n, int32_t* dst) const override { return quant::encode(op_, src, n, dst); }
  int64_t quantize(const float* src, int64_t n, float* dst) const override { return quant::quantize(op_, src, n, dst); }
  int64_t quantize(const double* src, int64_t n, float* dst) const override { return quant::quantize(op_, src, n, dst); }
  int64_t decode(const int32_t* src, int64_t n, float* dst) const override { return quant::decode(op_, src, n, dst); }
  int64_t encode_reference(const float* src, int64_t n, int32_t* dst) const override {
    return quant::encode_reference(op_, src, n, dst);
  }
  int64_t encode_reference(const double* src, int64_t n, int32_t* dst) const override {
    return quant::encode_reference(op_, src, n, dst);
  }
  int64_t quantize_reference(const float* src, int64_t n, float* dst) const override {
    return quant::quantize_reference(op_, src, n, dst);
  }
  int64_t quantize_reference(const double* src, int64_t n, float* dst) const override {
    return quant::quantize_reference(op_, src, n, dst);
  }
  std::vector<std::pair<std::string, double>> attributes() const override { return describe_(op_); }

 private:
  Op op_;
  Describe describe_;
};

template <class Op>
std::unique_ptr<QuantizerKernels> make_kernels_of(Op op, typename KernelsOf<Op>::Describe describe) {
  return std::make_unique<KernelsOf<Op>>(std::move(op), describe);
}

struct QuantizerFamily {
  std::string name;     // the registry key, Python's Quantizer.name, the CLI's --method
  std::string summary;  // one line for the CLI's help
  std::vector<Parameter> parameters;  // the Python constructor's, in its order
  // Kernels from the parameters with the range resolved (xmax a number) or, for a family that
  // fits its state to the data (affine, prune_quantize), from that state; see the family's .cpp.
  std::function<std::unique_ptr<QuantizerKernels>(const Values&)> make_kernels;
  // The default sweep's points (parameters, plus grid-only keys such as affine's per_channel)
  // for L = 2^k levels, k = 2 ... max_bits; empty: not swept by default.
  std::function<std::vector<Values>(int max_bits)> sweep_grid;
  // Constructor parameters the registry-wide Python tests run, and make_kernels arguments the
  // registry-wide C++ tests run: a family is tested the moment it is listed.
  std::vector<Values> examples;
  std::vector<Values> kernel_examples;
};

const std::vector<const QuantizerFamily*>& all_quantizers();

// The family called name; InvalidArgument listing the known names otherwise.
const QuantizerFamily& quantizer_named(const std::string& name);

// Typed access to Values; InvalidArgument naming the parameter when it is missing or mistyped.
bool has_value(const Values& values, const std::string& name);
int64_t integer_value(const Values& values, const std::string& name);
double real_value(const Values& values, const std::string& name);  // integers are accepted
bool boolean_value(const Values& values, const std::string& name);
std::string text_value(const Values& values, const std::string& name);

// Parameters several families share.
inline Parameter levels_parameter() {
  return {"levels", ParameterKind::integer, "number of levels L (step 2*xmax/L)", double(kMinLevels), double(kMaxLevels)};
}
inline Parameter range_parameter() {
  return {"xmax", ParameterKind::range, "range half-width, or \"max\": max|x| of each tensor"};
}

// The L = 2^k level counts of the default sweep, k = 2 ... max_bits (InvalidArgument outside [2, 24]).
std::vector<int64_t> sweep_levels(int max_bits);

}  // namespace edgequant::quant
