// Bindings of the minifloat quantizer (quant/minifloat.h).
#include "bindings/buffers.h"
#include "bindings/elementwise_bindings.h"
#include "quant/minifloat.h"

namespace edgequant::bindings {
using quant::Minifloat;
using quant::MinifloatMode;

void register_minifloat(py::module_& m) {
  py::enum_<MinifloatMode>(m, "MinifloatMode")
      .value("paper", MinifloatMode::paper)
      .value("ieee", MinifloatMode::ieee)
      .value("fn", MinifloatMode::fn);
  py::class_<Minifloat> minifloat(m, "Minifloat");
  minifloat
      .def(py::init<int, int, int, MinifloatMode>(), py::arg("exponent_bits"), py::arg("mantissa_bits"),
           py::arg("bias"), py::arg("mode"))
      .def_static("default_bias", &Minifloat::default_bias, py::arg("exponent_bits"), py::arg("mode"))
      .def_readonly("exponent_bits", &Minifloat::exponent_bits)
      .def_readonly("mantissa_bits", &Minifloat::mantissa_bits)
      .def_readonly("bias", &Minifloat::bias)
      .def_readonly("mode", &Minifloat::mode)
      .def_readonly("min_normal", &Minifloat::min_normal)
      .def_property_readonly("max_value", &Minifloat::max_value);
  add_elementwise_methods<Minifloat>(minifloat);
}

}  // namespace edgequant::bindings
