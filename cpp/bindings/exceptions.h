// How edgequant's C++ exceptions become Python ones, for every extension module: InvalidArgument ->
// ValueError, CorruptData -> edgequant._core.CorruptDataError (a ValueError subclass, one type for
// all modules). The translator is module-local because every module sees the same C++ types.
#pragma once
#include <pybind11/pybind11.h>

#include "common/error.h"

namespace edgequant::bindings {

inline pybind11::handle& corrupt_data_error_type() {
  static pybind11::handle type;
  return type;
}

inline void register_exception_translation(pybind11::handle corrupt_data_error) {
  corrupt_data_error_type() = corrupt_data_error;
  pybind11::register_local_exception_translator([](std::exception_ptr error) {
    try {
      if (error) std::rethrow_exception(error);
    } catch (const CorruptData& e) {
      pybind11::set_error(corrupt_data_error_type(), e.what());
    } catch (const InvalidArgument& e) {
      pybind11::set_error(PyExc_ValueError, e.what());
    }
  });
}

}  // namespace edgequant::bindings
