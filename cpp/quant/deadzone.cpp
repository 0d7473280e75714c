#include "quant/deadzone.h"

#include "quant/registry.h"

namespace edgequant::quant {

EDGEQUANT_DEFINE_CHUNK_KERNELS(Deadzone)

namespace {
// Relative dead-zone sizes of the paper's sweep.
constexpr double kPaperDeltas[] = {0.1, 0.25, 0.4, 0.7};

std::vector<Values> kernel_examples() {
  std::vector<Values> examples;
  for (double delta : {0.0, 0.1, 0.25, 0.4, 0.5, 0.7, 0.99}) {
    examples.push_back({{"levels", int64_t{512}}, {"delta", delta}, {"xmax", 1.0}});
    examples.push_back({{"levels", int64_t{64}}, {"delta", delta}, {"xmax", 0.25}});
  }
  return examples;
}
}  // namespace

const QuantizerFamily& deadzone_family() {
  using namespace std::string_literals;
  static const QuantizerFamily family{
      "deadzone",
      "uniform with a dead zone of relative size delta (0.5: midtread, 0: midrise)",
      {levels_parameter(),
       {"delta", ParameterKind::real, "relative dead-zone size", 0.0, 1.0, false, true},
       range_parameter()},
      [](const Values& v) {
        return make_kernels_of(Deadzone(integer_value(v, "levels"), real_value(v, "delta"), real_value(v, "xmax")),
                               [](const Deadzone& op) {
                                 return std::vector<std::pair<std::string, double>>{{"step", op.step},
                                                                                    {"max_symbol", op.max_symbol}};
                               });
      },
      [](int max_bits) {
        std::vector<Values> grid;
        for (double delta : kPaperDeltas) {
          for (int64_t levels : sweep_levels(max_bits)) {
            grid.push_back({{"levels", levels}, {"delta", delta}, {"xmax", "max"s}});
          }
        }
        return grid;
      },
      {{{"levels", int64_t{256}}, {"delta", 0.4}}, {{"levels", int64_t{3}}, {"delta", 0.9}, {"xmax", "max"s}}},
      kernel_examples()};
  return family;
}

}  // namespace edgequant::quant
