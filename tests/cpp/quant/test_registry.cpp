// Every registered quantizer family (quant/registry.h), through its type-erased kernels: fast
// against scalar reference bit for bit on the edge cases, decode(encode(x)) == q(x), NaN/Inf
// counted, empty input, parameters outside their declared range refused. A family is tested here
// the moment registry.cpp lists it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "quant/registry.h"

using namespace edgequant::quant;

namespace {

std::string describe(const QuantizerFamily& family, const Values& values) {
  std::string text = family.name + "(";
  for (const auto& [name, value] : values) {
    text += name + "=";
    std::visit([&](const auto& v) {
      if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>) text += v;
      else text += std::to_string(v);
    }, value);
    text += " ";
  }
  return text + ")";
}

template <class T>
uint64_t bits_of(T value) {
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof value);
  return bits;
}

// Laplacian samples; every reconstruction level of a probe and the midpoints between neighbours
// (ties) and their float neighbours; zeros of both signs; clipping far outside; the float32 ends;
// subnormals. An odd count, so the vector loops' tails run too.
template <class T>
std::vector<T> edge_values(const QuantizerKernels& kernels) {
  std::mt19937_64 rng(42);
  std::exponential_distribution<double> magnitude(8.0);
  std::vector<T> values;
  for (int i = 0; i < 100001; ++i) values.push_back(static_cast<T>((i % 2 ? -1 : 1) * magnitude(rng)));
  std::vector<float> probe(values.size());
  kernels.quantize(values.data(), static_cast<int64_t>(values.size()), probe.data());
  std::set<double> levels(probe.begin(), probe.end());
  double previous = std::numeric_limits<double>::quiet_NaN();
  for (double level : levels) {
    if (!std::isfinite(level)) continue;
    values.push_back(static_cast<T>(level));
    if (!std::isnan(previous)) {
      const T tie = static_cast<T>((previous + level) / 2);
      for (T v : {tie, std::nextafter(tie, T(0)), std::nextafter(tie, T(10))}) values.push_back(v);
    }
    previous = level;
  }
  constexpr T kMax = static_cast<T>(std::numeric_limits<float>::max());
  for (T v : {T(0), -T(0), T(1), T(-1), T(10), T(-10), T(1e30), T(-1e30), kMax, -kMax, T(1e-30),
              std::numeric_limits<T>::denorm_min(), -std::numeric_limits<T>::denorm_min()}) {
    values.push_back(v);
  }
  return values;
}

template <class T>
void expect_fast_equals_reference(const QuantizerFamily& family, const Values& example) {
  SCOPED_TRACE(describe(family, example) + (sizeof(T) == 4 ? " float32" : " float64"));
  const auto kernels = family.make_kernels(example);
  const auto values = edge_values<T>(*kernels);
  const auto n = static_cast<int64_t>(values.size());
  std::vector<int32_t> fast(n), reference(n);
  EXPECT_EQ(kernels->encode(values.data(), n, fast.data()), 0);
  EXPECT_EQ(kernels->encode_reference(values.data(), n, reference.data()), 0);
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(fast[i], reference[i]) << "encode, index " << i << " x = " << std::hexfloat << values[i];
  }
  std::vector<float> fused(n), fused_reference(n), decoded(n);
  kernels->quantize(values.data(), n, fused.data());
  kernels->quantize_reference(values.data(), n, fused_reference.data());
  EXPECT_EQ(kernels->decode(fast.data(), n, decoded.data()), 0) << "encode produced symbols decode refuses";
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(bits_of(fused[i]), bits_of(fused_reference[i])) << "quantize, index " << i << " x = " << std::hexfloat
                                                               << values[i] << ": " << fused[i] << " vs " << fused_reference[i];
    ASSERT_EQ(bits_of(fused[i]), bits_of(decoded[i])) << "q(x) vs decode(encode(x)), index " << i << " x = "
                                                      << std::hexfloat << values[i];
  }
}

}  // namespace

TEST(QuantizerRegistry, NamesAreUniqueAndEveryFamilyDeclaresExamples) {
  std::set<std::string> names;
  for (const QuantizerFamily* family : all_quantizers()) {
    EXPECT_TRUE(names.insert(family->name).second) << family->name;
    EXPECT_FALSE(family->kernel_examples.empty()) << family->name;
    EXPECT_FALSE(family->examples.empty()) << family->name;
    EXPECT_FALSE(family->parameters.empty()) << family->name;
    EXPECT_EQ(&quantizer_named(family->name), family);
  }
  EXPECT_THROW(quantizer_named("lloyd_max"), edgequant::InvalidArgument);
}

TEST(QuantizerRegistry, FastKernelsMatchTheScalarReferenceBitForBit) {
  for (const QuantizerFamily* family : all_quantizers()) {
    for (const Values& example : family->kernel_examples) {
      expect_fast_equals_reference<float>(*family, example);
      expect_fast_equals_reference<double>(*family, example);
    }
  }
}

TEST(QuantizerRegistry, NonFiniteInputsAreCountedAndEmptyInputIsFine) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const std::vector<float> values = {0.25f, nan, inf, -inf, -0.5f};
  for (const QuantizerFamily* family : all_quantizers()) {
    for (const Values& example : family->kernel_examples) {
      SCOPED_TRACE(describe(*family, example));
      const auto kernels = family->make_kernels(example);
      std::vector<int32_t> fast(values.size()), reference(values.size());
      std::vector<float> fused(values.size());
      EXPECT_EQ(kernels->encode(values.data(), 5, fast.data()), 3);
      EXPECT_EQ(kernels->encode_reference(values.data(), 5, reference.data()), 3);
      EXPECT_EQ(kernels->quantize(values.data(), 5, fused.data()), 3);
      EXPECT_EQ(fast, reference);  // NaN maps to a defined symbol, the same one on both paths
      EXPECT_EQ(kernels->encode(values.data(), 0, fast.data()), 0);
      EXPECT_EQ(kernels->decode(fast.data(), 0, fused.data()), 0);
    }
  }
}

TEST(QuantizerRegistry, ParametersOutsideTheirDeclaredRangeAreRefused) {
  int checked = 0;
  for (const QuantizerFamily* family : all_quantizers()) {
    for (const Parameter& parameter : family->parameters) {
      const Values& example = family->kernel_examples.front();
      if (!has_value(example, parameter.name)) continue;  // a parameter fitted away (prune_quantize's gamma)
      std::vector<Value> bad;
      if (parameter.kind == ParameterKind::integer) {
        bad = {static_cast<int64_t>(parameter.low) - 1, static_cast<int64_t>(parameter.high) + 1};
      } else if (parameter.kind == ParameterKind::real) {
        bad = {parameter.low_open ? parameter.low : parameter.low - 1, std::numeric_limits<double>::quiet_NaN()};
        if (std::isfinite(parameter.high)) bad.push_back(parameter.high_open ? parameter.high : parameter.high + 1);
      } else if (parameter.kind == ParameterKind::range) {
        bad = {0.0, -1.0, 1e39};  // xmax must be > 0 and a finite float32
      } else if (parameter.kind == ParameterKind::choice) {
        bad = {std::string("no-such-choice")};
      }
      for (const Value& value : bad) {
        Values changed = example;
        for (auto& entry : changed) {
          if (entry.first == parameter.name) entry.second = value;
        }
        if (parameter.nullable && parameter.kind == ParameterKind::integer) continue;  // bias: bounded by the format
        EXPECT_THROW(family->make_kernels(changed), edgequant::InvalidArgument) << describe(*family, changed);
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 10);
}

TEST(QuantizerRegistry, SweepGridPointsNameDeclaredParameters) {
  for (const QuantizerFamily* family : all_quantizers()) {
    for (int max_bits : {2, 8, 24}) {
      for (const Values& point : family->sweep_grid(max_bits)) {
        for (const auto& entry : point) {
          bool declared = entry.first == "per_channel";  // affine: a grid-only key (one scale per channel)
          for (const Parameter& parameter : family->parameters) declared |= parameter.name == entry.first;
          EXPECT_TRUE(declared) << family->name << " grid point names " << entry.first;
        }
      }
    }
  }
  EXPECT_THROW(sweep_levels(25), edgequant::InvalidArgument);
}
