#include "quant/mulaw.h"

#include "quant/registry.h"

namespace edgequant::quant {

EDGEQUANT_DEFINE_CHUNK_KERNELS(MuLaw)

namespace {
constexpr double kTelephonyMu = 255.0;
}

const QuantizerFamily& mulaw_family() {
  using namespace std::string_literals;
  static const QuantizerFamily family{
      "mulaw",
      "mu-law companded: compress, midtread, expand",
      {levels_parameter(),
       {"mu", ParameterKind::real, "compression parameter mu (255: telephony)", 0.0, kUnbounded, true},
       range_parameter()},
      [](const Values& v) {
        return make_kernels_of(MuLaw(integer_value(v, "levels"), real_value(v, "mu"), real_value(v, "xmax")),
                               [](const MuLaw& op) {
                                 return std::vector<std::pair<std::string, double>>{{"step", op.step},
                                                                                    {"max_symbol", op.max_symbol}};
                               });
      },
      [](int max_bits) {
        std::vector<Values> grid;
        for (int64_t levels : sweep_levels(max_bits)) {
          grid.push_back({{"levels", levels}, {"mu", kTelephonyMu}, {"xmax", "max"s}});
        }
        return grid;
      },
      {{{"levels", int64_t{256}}}, {{"levels", int64_t{256}}, {"mu", 10.0}, {"xmax", "max"s}}},
      {{{"levels", int64_t{256}}, {"mu", kTelephonyMu}, {"xmax", 1.0}},
       {{"levels", int64_t{1} << 12}, {"mu", 10.0}, {"xmax", 0.3}},
       {{"levels", int64_t{1} << 20}, {"mu", kTelephonyMu}, {"xmax", 0.8}}}};  // too many levels for a table
  return family;
}

}  // namespace edgequant::quant
