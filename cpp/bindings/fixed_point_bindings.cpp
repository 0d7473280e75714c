// Bindings of the export-time integer arithmetic (quant/fixed_point.h) and SAME padding
// (engine/graph/padding.h, header-only): microcontroller/fixed_point.py and the C export's front
// ends call these instead of computing the numbers again in Python.
#include <pybind11/stl.h>

#include "bindings/buffers.h"
#include "engine/graph/padding.h"
#include "quant/fixed_point.h"

namespace edgequant::bindings {
using namespace edgequant::quant;

namespace {

py::tuple as_tuple(const QuantizedMultiplier& m) { return py::make_tuple(m.multiplier, m.shift); }

}  // namespace

void register_fixed_point(py::module_& m) {
  m.def("quantize_multiplier", [](double real, int max_shift) { return as_tuple(quantize_multiplier(real, max_shift)); },
        py::arg("real"), py::arg("max_shift") = 30);
  m.def("per_channel_multipliers", [](double input_scale, const std::vector<float>& filter_scales, double output_scale) {
        std::vector<int32_t> multipliers, shifts;
        for (const QuantizedMultiplier& q : per_channel_multipliers(input_scale, filter_scales, output_scale)) {
          multipliers.push_back(q.multiplier);
          shifts.push_back(q.shift);
        }
        return py::make_tuple(multipliers, shifts);
      }, py::arg("input_scale"), py::arg("filter_scales"), py::arg("output_scale"));
  m.def("fully_connected_multiplier", [](double input_scale, double filter_scale, double output_scale) {
        return as_tuple(fully_connected_multiplier(input_scale, filter_scale, output_scale));
      }, py::arg("input_scale"), py::arg("filter_scale"), py::arg("output_scale"));
  m.def("tflite_weight_format", &tflite_weight_format);
  m.def("quantize_biases", [](const std::vector<double>& biases, double input_scale,
                              const std::vector<double>& weight_scales) {
        require(weight_scales.size() == biases.size() || weight_scales.size() == 1,
                "quantize_biases: one weight scale, or one per bias");
        std::vector<int32_t> out(biases.size());
        for (size_t c = 0; c < biases.size(); ++c)
          out[c] = quantize_bias(biases[c], input_scale, weight_scales[weight_scales.size() == 1 ? 0 : c]);
        return out;
      }, py::arg("biases"), py::arg("input_scale"), py::arg("weight_scales"));
  m.def("saturating_rounding_doubling_high_mul", &saturating_rounding_doubling_high_mul, py::arg("a"), py::arg("b"));
  m.def("rounding_divide_by_pot", &rounding_divide_by_pot, py::arg("x"), py::arg("exponent"));
  m.def("multiply_by_quantized_multiplier", [](int32_t x, int32_t multiplier, int shift) {
        return multiply_by_quantized_multiplier(x, {multiplier, shift});
      }, py::arg("x"), py::arg("multiplier"), py::arg("shift"));
  m.def("activation_range", &activation_range, py::arg("activation"), py::arg("scale"), py::arg("zero_point"));
  m.def("softmax_parameters", [](double beta, double input_scale) {
        const SoftmaxParameters p = softmax_parameters(beta, input_scale);
        return py::make_tuple(p.input_multiplier, p.input_left_shift, p.diff_min);
      }, py::arg("beta"), py::arg("input_scale"));
  m.def("add_parameters", [](double scale1, double scale2, double output_scale) {
        const AddParameters p = add_parameters(scale1, scale2, output_scale);
        py::dict d;
        d["left_shift"] = p.left_shift;
        d["input1_multiplier"] = p.input1.multiplier;
        d["input1_shift"] = p.input1.shift;
        d["input2_multiplier"] = p.input2.multiplier;
        d["input2_shift"] = p.input2.shift;
        d["output_multiplier"] = p.output.multiplier;
        d["output_shift"] = p.output.shift;
        return d;
      }, py::arg("scale1"), py::arg("scale2"), py::arg("output_scale"));
  m.def("same_output_size", &engine::same_output_size, py::arg("input_size"), py::arg("stride"));
  m.def("same_padding", [](int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t dilation, bool upper) {
        const engine::Padding p = engine::same_padding(in, out, kernel, stride, dilation, upper);
        return py::make_tuple(p.begin, p.end);
      }, py::arg("input_size"), py::arg("output_size"), py::arg("kernel"), py::arg("stride"), py::arg("dilation"),
      py::arg("upper") = true);
}

}  // namespace edgequant::bindings
