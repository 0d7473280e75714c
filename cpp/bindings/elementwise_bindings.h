// add_elementwise_methods: the encode / quantize / decode bindings every elementwise op shares.
#pragma once
#include "bindings/buffers.h"
#include "quant/elementwise.h"

namespace edgequant::bindings {

// encode / quantize / decode methods for one op type, float32 and float64 inputs, GIL released.
template <class Op, class Class>
void add_elementwise_methods(Class& cls) {
  auto add_for = [&](auto tag) {
    using T = decltype(tag);
    cls.def("encode", [](const Op& op, const Array<T>& src, Array<int32_t>& dst) {
          const T* in = input_data(src);
          int32_t* out = output_data(dst, src.size(), "encode");
          py::gil_scoped_release release;
          return quant::encode(op, in, src.size(), out);
        }, py::arg("src").noconvert(), py::arg("dst").noconvert());
    cls.def("quantize", [](const Op& op, const Array<T>& src, Array<float>& dst) {
          const T* in = input_data(src);
          float* out = output_data(dst, src.size(), "quantize");
          py::gil_scoped_release release;
          return quant::quantize(op, in, src.size(), out);
        }, py::arg("src").noconvert(), py::arg("dst").noconvert());
  };
  add_for(float{});
  add_for(double{});
  cls.def("decode", [](const Op& op, const Array<int32_t>& src, Array<float>& dst) {
        const int32_t* in = input_data(src);
        float* out = output_data(dst, src.size(), "decode");
        py::gil_scoped_release release;
        return quant::decode(op, in, src.size(), out);
      }, py::arg("src").noconvert(), py::arg("dst").noconvert());
}

}  // namespace edgequant::bindings
