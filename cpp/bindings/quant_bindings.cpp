// Bindings of what the quantizer registry (registry_bindings.cpp) does not cover: affine
// per-channel fitting and kernels, prune-quantize fitting and the range statistics.
#include <pybind11/stl.h>

#include "bindings/buffers.h"
#include "quant/affine.h"
#include "quant/prune_quantize.h"
#include "quant/range.h"
#include "quant/registry.h"

namespace edgequant::bindings {
using namespace edgequant::quant;

namespace {

template <class T>
void add_range_functions(py::module_& m) {
  m.def("tensor_range", [](const Array<T>& src) {
        const T* in = input_data(src);
        py::gil_scoped_release release;
        return tensor_range(in, src.size());
      }, py::arg("src").noconvert());
  m.def("channel_ranges", [](const Array<T>& src, int64_t outer, int64_t channels, int64_t inner) {
        require(outer * channels * inner == src.size(), "channel_ranges: shape does not match the data");
        const T* in = input_data(src);
        py::gil_scoped_release release;
        return channel_ranges(in, outer, channels, inner);
      }, py::arg("src").noconvert(), py::arg("outer"), py::arg("channels"), py::arg("inner"));
  m.def("tensor_moments", [](const Array<T>& src) {
        const T* in = input_data(src);
        py::gil_scoped_release release;
        return tensor_moments(in, src.size());
      }, py::arg("src").noconvert());
  m.def("fit_prune_quantize", [](const Array<T>& src, double gamma, int bits) {
        const T* in = input_data(src);
        py::gil_scoped_release release;
        return fit_prune_quantize(in, src.size(), gamma, bits);
      }, py::arg("src").noconvert(), py::arg("gamma"), py::arg("bits"));
}

template <class T>
void add_per_channel_functions(py::module_& m) {
  m.def("affine_fit_per_channel", [](const AffineFormat& format, const Array<T>& src, int64_t outer,
                                     int64_t channels, int64_t inner, Array<double>& scales,
                                     Array<int32_t>& zero_points) {
        require(outer * channels * inner == src.size(), "per-channel shape mismatch");
        const T* in = input_data(src);
        double* s = output_data(scales, channels, "scales");
        int32_t* z = output_data(zero_points, channels, "zero_points");
        py::gil_scoped_release release;
        return affine_fit_per_channel(format, in, outer, channels, inner, s, z);
      }, py::arg("format"), py::arg("src").noconvert(), py::arg("outer"), py::arg("channels"), py::arg("inner"),
      py::arg("scales").noconvert(), py::arg("zero_points").noconvert());
  m.def("affine_encode_per_channel", [](const AffineFormat& format, const Array<double>& scales,
                                        const Array<int32_t>& zero_points, const Array<T>& src, int64_t outer,
                                        int64_t inner, Array<int32_t>& dst) {
        const int64_t channels = scales.size();
        require(zero_points.size() == channels && outer * channels * inner == src.size(), "per-channel shape mismatch");
        const T* in = input_data(src);
        int32_t* out = output_data(dst, src.size(), "encode");
        py::gil_scoped_release release;
        return affine_encode_per_channel(format, scales.data(), zero_points.data(), in, outer, channels, inner, out);
      }, py::arg("format"), py::arg("scales").noconvert(), py::arg("zero_points").noconvert(),
      py::arg("src").noconvert(), py::arg("outer"), py::arg("inner"), py::arg("dst").noconvert());
  m.def("affine_quantize_per_channel", [](const AffineFormat& format, const Array<double>& scales,
                                          const Array<int32_t>& zero_points, const Array<T>& src, int64_t outer,
                                          int64_t inner, Array<float>& dst) {
        const int64_t channels = scales.size();
        require(zero_points.size() == channels && outer * channels * inner == src.size(), "per-channel shape mismatch");
        const T* in = input_data(src);
        float* out = output_data(dst, src.size(), "quantize");
        py::gil_scoped_release release;
        return affine_quantize_per_channel(format, scales.data(), zero_points.data(), in, outer, channels, inner, out);
      }, py::arg("format"), py::arg("scales").noconvert(), py::arg("zero_points").noconvert(),
      py::arg("src").noconvert(), py::arg("outer"), py::arg("inner"), py::arg("dst").noconvert());
}

}  // namespace

void register_quantizers(py::module_& m) {
  py::class_<PruneQuantizeFit>(m, "PruneQuantizeFit")
      .def_property_readonly("op", [](const PruneQuantizeFit& fit) {
        return quantizer_named("prune_quantize").make_kernels(
            {{"threshold", fit.op.threshold}, {"step", fit.op.step}, {"max_symbol", int64_t{fit.op.max_symbol}}});
      })
      .def_property_readonly("threshold", [](const PruneQuantizeFit& fit) { return fit.op.threshold; })
      .def_property_readonly("step", [](const PruneQuantizeFit& fit) { return fit.op.step; })
      .def_property_readonly("max_symbol", [](const PruneQuantizeFit& fit) { return fit.op.max_symbol; })
      .def_readonly("std", &PruneQuantizeFit::std)
      .def_readonly("max_abs", &PruneQuantizeFit::max_abs).def_readonly("non_finite", &PruneQuantizeFit::non_finite);

  py::class_<AffineFormat>(m, "AffineFormat")
      .def(py::init<int, bool, bool>(), py::arg("bits"), py::arg("symmetric"), py::arg("signed"))
      .def_readonly("qmin", &AffineFormat::qmin).def_readonly("qmax", &AffineFormat::qmax);
  py::class_<AffineParams>(m, "AffineParams")
      .def(py::init<double, int32_t>(), py::arg("scale"), py::arg("zero_point"))
      .def_readonly("scale", &AffineParams::scale).def_readonly("zero_point", &AffineParams::zero_point);
  m.def("affine_params_from_range", &affine_params_from_range, py::arg("format"), py::arg("min"), py::arg("max"));
  add_per_channel_functions<float>(m);
  add_per_channel_functions<double>(m);
  m.def("affine_decode_per_channel", [](const AffineFormat& format, const Array<double>& scales,
                                        const Array<int32_t>& zero_points, const Array<int32_t>& src, int64_t outer,
                                        int64_t inner, Array<float>& dst) {
        const int64_t channels = scales.size();
        require(zero_points.size() == channels && outer * channels * inner == src.size(), "per-channel shape mismatch");
        const int32_t* in = input_data(src);
        float* out = output_data(dst, src.size(), "decode");
        py::gil_scoped_release release;
        return affine_decode_per_channel(format, scales.data(), zero_points.data(), in, outer, channels, inner, out);
      }, py::arg("format"), py::arg("scales").noconvert(), py::arg("zero_points").noconvert(),
      py::arg("src").noconvert(), py::arg("outer"), py::arg("inner"), py::arg("dst").noconvert());

  py::class_<Range>(m, "Range")
      .def_readonly("min", &Range::min).def_readonly("max", &Range::max)
      .def_readonly("max_abs", &Range::max_abs).def_readonly("non_finite", &Range::non_finite);
  py::class_<Moments>(m, "Moments")
      .def_readonly("mean", &Moments::mean).def_readonly("std", &Moments::std)
      .def_readonly("non_finite", &Moments::non_finite);
  add_range_functions<float>(m);
  add_range_functions<double>(m);
}

}  // namespace edgequant::bindings
