#include "quant/midrise.h"

#include "quant/registry.h"

namespace edgequant::quant {

EDGEQUANT_DEFINE_CHUNK_KERNELS(Midrise)

const QuantizerFamily& midrise_family() {
  using namespace std::string_literals;
  static const QuantizerFamily family{
      "midrise",
      "uniform without a zero level: q = s(x) ceil(|x|/step)",
      {levels_parameter(), range_parameter()},
      [](const Values& v) {
        return make_kernels_of(Midrise(integer_value(v, "levels"), real_value(v, "xmax")), [](const Midrise& op) {
          return std::vector<std::pair<std::string, double>>{{"step", op.step}, {"max_symbol", op.max_symbol}};
        });
      },
      [](int max_bits) {
        std::vector<Values> grid;
        for (int64_t levels : sweep_levels(max_bits)) grid.push_back({{"levels", levels}, {"xmax", "max"s}});
        return grid;
      },
      {{{"levels", int64_t{256}}}, {{"levels", int64_t{7}}, {"xmax", "max"s}}},
      {{{"levels", int64_t{256}}, {"xmax", 1.0}}, {{"levels", int64_t{4}}, {"xmax", 2.0}}}};
  return family;
}

}  // namespace edgequant::quant
