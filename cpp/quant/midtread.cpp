#include "quant/midtread.h"

#include "quant/registry.h"

namespace edgequant::quant {

EDGEQUANT_DEFINE_CHUNK_KERNELS(Midtread)

const QuantizerFamily& midtread_family() {
  using namespace std::string_literals;
  static const QuantizerFamily family{
      "midtread",
      "uniform with a zero level: q = round(x/step)",
      {levels_parameter(), range_parameter()},
      [](const Values& v) {
        return make_kernels_of(Midtread(integer_value(v, "levels"), real_value(v, "xmax")), [](const Midtread& op) {
          return std::vector<std::pair<std::string, double>>{{"step", op.step}, {"max_symbol", op.max_symbol}};
        });
      },
      [](int max_bits) {
        std::vector<Values> grid;
        for (int64_t levels : sweep_levels(max_bits)) grid.push_back({{"levels", levels}, {"xmax", "max"s}});
        return grid;
      },
      {{{"levels", int64_t{256}}}, {{"levels", int64_t{256}}, {"xmax", "max"s}}},
      {{{"levels", int64_t{256}}, {"xmax", 1.0}}, {{"levels", int64_t{1} << 24}, {"xmax", 0.5}},
       {{"levels", int64_t{2}}, {"xmax", 3.4028234663852886e38}}}};
  return family;
}

}  // namespace edgequant::quant
