// Helpers shared by the binding files: typed, contiguous NumPy buffers without silent casts.
// The Python wrappers coerce dtypes and allocate outputs; here we only check and unwrap.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "common/error.h"

namespace edgequant::bindings {
namespace py = pybind11;

template <class T>
using Array = py::array_t<T, py::array::c_style>;

template <class T>
const T* input_data(const Array<T>& array) { return array.data(); }

template <class T>
T* output_data(Array<T>& array, int64_t expected_size, const char* name) {
  require(array.size() == expected_size, std::string(name) + ": output has the wrong size");
  require(array.writeable(), std::string(name) + ": output is read-only");
  return array.mutable_data();
}

// Registration functions, one per binding file.
void register_quantizers(py::module_& m);
void register_quantizer_registry(py::module_& m);
void register_entropy(py::module_& m);
void register_coding(py::module_& m);
void register_fit(py::module_& m);
void register_ranges(py::module_& m);
void register_fixed_point(py::module_& m);

}  // namespace edgequant::bindings
