// Bindings of the quantizer registry (quant/registry.h): every family's metadata and kernels
// through one class, so a family listed in the registry is reachable from Python unchanged.
#include <pybind11/stl.h>

#include "bindings/buffers.h"
#include "quant/registry.h"

namespace edgequant::bindings {
using quant::Parameter;
using quant::ParameterKind;
using quant::QuantizerFamily;
using quant::QuantizerKernels;

namespace {

const char* kind_name(ParameterKind kind) {
  switch (kind) {
    case ParameterKind::integer: return "integer";
    case ParameterKind::real: return "real";
    case ParameterKind::boolean: return "boolean";
    case ParameterKind::choice: return "choice";
    case ParameterKind::range: return "range";
  }
  return "?";
}

// encode / quantize (float32 and float64 inputs) and decode, fast or reference, GIL released.
void add_kernel_methods(py::class_<QuantizerKernels>& cls) {
  auto add_for = [&](auto tag) {
    using T = decltype(tag);
    cls.def("encode", [](const QuantizerKernels& kernels, const Array<T>& src, Array<int32_t>& dst) {
          const T* in = input_data(src);
          int32_t* out = output_data(dst, src.size(), "encode");
          py::gil_scoped_release release;
          return kernels.encode(in, src.size(), out);
        }, py::arg("src").noconvert(), py::arg("dst").noconvert());
    cls.def("quantize", [](const QuantizerKernels& kernels, const Array<T>& src, Array<float>& dst) {
          const T* in = input_data(src);
          float* out = output_data(dst, src.size(), "quantize");
          py::gil_scoped_release release;
          return kernels.quantize(in, src.size(), out);
        }, py::arg("src").noconvert(), py::arg("dst").noconvert());
    cls.def("encode_reference", [](const QuantizerKernels& kernels, const Array<T>& src, Array<int32_t>& dst) {
          const T* in = input_data(src);
          int32_t* out = output_data(dst, src.size(), "encode_reference");
          py::gil_scoped_release release;
          return kernels.encode_reference(in, src.size(), out);
        }, py::arg("src").noconvert(), py::arg("dst").noconvert());
    cls.def("quantize_reference", [](const QuantizerKernels& kernels, const Array<T>& src, Array<float>& dst) {
          const T* in = input_data(src);
          float* out = output_data(dst, src.size(), "quantize_reference");
          py::gil_scoped_release release;
          return kernels.quantize_reference(in, src.size(), out);
        }, py::arg("src").noconvert(), py::arg("dst").noconvert());
  };
  add_for(float{});
  add_for(double{});
  cls.def("decode", [](const QuantizerKernels& kernels, const Array<int32_t>& src, Array<float>& dst) {
        const int32_t* in = input_data(src);
        float* out = output_data(dst, src.size(), "decode");
        py::gil_scoped_release release;
        return kernels.decode(in, src.size(), out);
      }, py::arg("src").noconvert(), py::arg("dst").noconvert());
}

}  // namespace

void register_quantizer_registry(py::module_& m) {
  py::class_<Parameter>(m, "QuantizerParameter")
      .def_readonly("name", &Parameter::name)
      .def_property_readonly("kind", [](const Parameter& p) { return kind_name(p.kind); })
      .def_readonly("help", &Parameter::help)
      .def_readonly("low", &Parameter::low).def_readonly("high", &Parameter::high)
      .def_readonly("low_open", &Parameter::low_open).def_readonly("high_open", &Parameter::high_open)
      .def_readonly("choices", &Parameter::choices)
      .def_readonly("nullable", &Parameter::nullable)
      .def_readonly("switch_name", &Parameter::switch_name);

  py::class_<QuantizerFamily>(m, "QuantizerFamily")
      .def_readonly("name", &QuantizerFamily::name)
      .def_readonly("summary", &QuantizerFamily::summary)
      .def_readonly("parameters", &QuantizerFamily::parameters)
      .def_readonly("examples", &QuantizerFamily::examples)
      .def_readonly("kernel_examples", &QuantizerFamily::kernel_examples)
      .def("sweep_grid", [](const QuantizerFamily& family, int max_bits) { return family.sweep_grid(max_bits); },
           py::arg("max_bits"));
  m.def("quantizer_families", []() {
        std::vector<const QuantizerFamily*> families = quant::all_quantizers();
        return families;
      }, py::return_value_policy::reference, "The registered quantizer families, in sweep order.");

  py::class_<QuantizerKernels> kernels(m, "QuantizerKernels");
  kernels.def_property_readonly("attributes", [](const QuantizerKernels& k) {
    py::dict attributes;
    for (const auto& [name, value] : k.attributes()) attributes[py::str(name)] = value;
    return attributes;
  });
  add_kernel_methods(kernels);
  m.def("make_quantizer_kernels", [](const std::string& name, const quant::Values& values) {
        return quant::quantizer_named(name).make_kernels(values);
      }, py::arg("name"), py::arg("values"),
      "Kernels of the family called name from its kernel values [(name, value), ...] (see quant/registry.h).");
}

}  // namespace edgequant::bindings
