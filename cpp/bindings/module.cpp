// edgequant._core: the compiled half of edgequant. Users import edgequant, not this module.
#include "bindings/buffers.h"
#include "bindings/exceptions.h"
#include "common/parallel.h"
#include "quant/elementwise.h"

namespace py = pybind11;
using namespace edgequant;

PYBIND11_MODULE(_core, m) {
  m.doc() = "edgequant C++ core (private; use the edgequant package).";
  m.attr("__version__") = EDGEQUANT_VERSION;
  // C++ errors reach Python with their message: bad arguments and corrupt data are ValueErrors.
  static py::exception<CorruptData> corrupt(m, "CorruptDataError", PyExc_ValueError);
  bindings::register_exception_translation(corrupt);
  m.def("max_threads", &max_threads, "Threads the core splits long loops across.");
  m.def("set_max_threads", &set_max_threads, py::arg("threads"), "0 restores the default.");
  m.def("force_reference", &quant::force_reference);
  m.def("set_force_reference", &quant::set_force_reference, py::arg("on"));
  bindings::register_quantizers(m);
  bindings::register_quantizer_registry(m);
  bindings::register_entropy(m);
  bindings::register_coding(m);
  bindings::register_fit(m);
  bindings::register_ranges(m);
  bindings::register_fixed_point(m);
}
