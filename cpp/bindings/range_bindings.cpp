// Bindings of the range strategies (quant/range_observer.h): the streaming observer and the
// scalar reference. Buffers in, GIL released, C++ errors -> ValueError; docstrings live in
// edgequant.ranges.
#include <pybind11/stl.h>

#include "bindings/buffers.h"
#include "quant/range_observer.h"

namespace edgequant::bindings {
using namespace edgequant::quant;

namespace {

RangeStrategy make_strategy(const std::string& method, double percentile, bool symmetric, int64_t levels) {
  RangeStrategy strategy;
  strategy.method = range_method_from_name(method);
  strategy.percentile = percentile;
  strategy.symmetric = symmetric;
  strategy.levels = levels;
  check_strategy(strategy);
  return strategy;
}

py::tuple to_tuple(const ClipRange& range) { return py::make_tuple(range.lo, range.hi); }

template <class T>
void add_observe(py::class_<RangeObserver>& observer) {
  observer.def("observe", [](RangeObserver& o, const Array<T>& src) {
        const T* in = input_data(src);
        py::gil_scoped_release release;
        o.observe(in, src.size());
      }, py::arg("src").noconvert());
}

}  // namespace

void register_ranges(py::module_& m) {
  py::class_<RangeObserver> observer(m, "RangeObserver");
  observer.def(py::init<bool>(), py::arg("histogram") = true);
  add_observe<float>(observer);
  add_observe<double>(observer);
  observer
      .def("range", [](const RangeObserver& o, const std::string& method, double percentile, bool symmetric,
                       int64_t levels) {
             const RangeStrategy strategy = make_strategy(method, percentile, symmetric, levels);
             ClipRange range;
             {
               py::gil_scoped_release release;
               range = o.range(strategy);
             }
             return to_tuple(range);
           }, py::arg("method"), py::arg("percentile") = 99.99, py::arg("symmetric") = false, py::arg("levels") = 255)
      .def_property_readonly("count", &RangeObserver::count)
      .def_property_readonly("zeros", &RangeObserver::zeros)
      .def_property_readonly("non_finite", &RangeObserver::non_finite)
      .def_property_readonly("min", &RangeObserver::min)
      .def_property_readonly("max", &RangeObserver::max)
      .def_property_readonly("bin_width", &RangeObserver::bin_width)
      .def_property_readonly("has_histogram", &RangeObserver::has_histogram);
  m.def("range_reference", [](const Array<double>& src, const std::string& method, double percentile,
                              bool symmetric, int64_t levels) {
        const RangeStrategy strategy = make_strategy(method, percentile, symmetric, levels);
        std::vector<double> values(src.data(), src.data() + src.size());
        ClipRange range;
        {
          py::gil_scoped_release release;
          range = range_reference(std::move(values), strategy);
        }
        return to_tuple(range);
      }, py::arg("src").noconvert(), py::arg("method"), py::arg("percentile") = 99.99, py::arg("symmetric") = false,
      py::arg("levels") = 255);
  m.attr("ENTROPY_MAX_CLIPPED") = kEntropyMaxClipped;
  m.attr("RANGE_HISTOGRAM_BINS") = RangeObserver::kBins;
}

}  // namespace edgequant::bindings
