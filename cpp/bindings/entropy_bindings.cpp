// Bindings of symbol counting, entropy estimates and distortion.
#include "bindings/buffers.h"
#include "entropy/distortion.h"
#include "entropy/entropy.h"

namespace edgequant::bindings {
using namespace edgequant::entropy;

namespace {
template <class T, class U>
void add_distortion(py::module_& m) {
  m.def("distortion", [](const Array<T>& reference, const Array<U>& approx) {
        require(reference.size() == approx.size(), "distortion: arrays differ in size");
        const T* a = input_data(reference);
        const U* b = input_data(approx);
        py::gil_scoped_release release;
        return distortion(a, b, reference.size());
      }, py::arg("reference").noconvert(), py::arg("approx").noconvert());
}

py::tuple counts_to_arrays(const SymbolCounts& counts) {
  Array<int32_t> symbols(static_cast<py::ssize_t>(counts.symbols.size()));
  Array<uint64_t> values(static_cast<py::ssize_t>(counts.counts.size()));
  std::copy(counts.symbols.begin(), counts.symbols.end(), symbols.mutable_data());
  std::copy(counts.counts.begin(), counts.counts.end(), values.mutable_data());
  return py::make_tuple(symbols, values);
}
}  // namespace

void register_entropy(py::module_& m) {
  m.def("entropy_bits", [](const Array<int32_t>& symbols) {
        const int32_t* in = input_data(symbols);
        py::gil_scoped_release release;
        return entropy_bits(in, symbols.size());
      }, py::arg("symbols").noconvert());
  m.def("float_pattern_entropy_bits", [](const Array<float>& values) {
        const float* in = input_data(values);
        py::gil_scoped_release release;
        return float_pattern_entropy_bits(in, values.size());
      }, py::arg("values").noconvert());
  m.def("count_symbols", [](const Array<int32_t>& symbols) {
        const int32_t* in = input_data(symbols);
        SymbolCounts counts;
        {
          py::gil_scoped_release release;
          counts = count_symbols(in, symbols.size());
        }
        return counts_to_arrays(counts);
      }, py::arg("symbols").noconvert(), "Distinct symbols (sorted) and their counts.");
  py::class_<Distortion>(m, "Distortion")
      .def_readonly("sum_squared_error", &Distortion::sum_squared_error)
      .def_readonly("sum_squared_signal", &Distortion::sum_squared_signal)
      .def_readonly("max_abs_error", &Distortion::max_abs_error)
      .def_readonly("count", &Distortion::count)
      .def_readonly("non_finite", &Distortion::non_finite);
  add_distortion<float, float>(m);
  add_distortion<float, double>(m);
  add_distortion<double, float>(m);
  add_distortion<double, double>(m);
}

}  // namespace edgequant::bindings
