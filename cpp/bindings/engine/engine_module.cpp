// edgequant._engine: the inference engine's thin binding (its own extension, so edgequant._core
// never loads oneDNN). Float32 inputs are borrowed and outputs handed over without copies where
// the buffers allow; runs release the GIL.
#include <algorithm>
#include <string>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "backend/int8_support.h"
#include "bindings/exceptions.h"
#include "common/error.h"
#include "session/calibration.h"
#include "session/engine.h"

namespace py = pybind11;
using namespace edgequant;
using namespace edgequant::engine;

namespace {

// Float32 inputs are borrowed, not copied: `keep` holds the (C-contiguous) arrays for the run.
// Dtypes compare by value: an array that came through pickle (multiprocessing, Dask, joblib)
// carries its own float32 dtype object, not NumPy's singleton. A byte-swapped array is refused
// (np.dtype('>f4') != float32 here); Engine.run converts it before it gets here.
Tensor to_tensor(const py::array& array, const std::string& name, std::vector<py::array>& keep) {
  Shape shape(array.shape(), array.shape() + array.ndim());
  if (array.dtype().equal(py::dtype::of<float>())) {
    auto a = py::array_t<float, py::array::c_style>::ensure(array);
    checked_numel(shape, name);
    Tensor t;
    t.dtype = DType::f32;
    t.shape = shape;
    t.borrowed = a.data();
    keep.push_back(a);
    return t;
  }
  if (array.dtype().equal(py::dtype::of<int64_t>())) {
    auto a = py::array_t<int64_t, py::array::c_style>::ensure(array);
    Tensor t = Tensor::zeros_i64(shape, name);
    std::copy(a.data(), a.data() + a.size(), t.i());
    return t;
  }
  throw InvalidArgument("input '" + name + "' must be a float32 or int64 array in native byte order, got dtype " +
                        py::str(array.dtype()).cast<std::string>());
}

// Outputs hand their buffer to NumPy (no copy) unless it is borrowed or shared with the engine.
py::array to_array(const Tensor& t) {
  if (!t.has_data()) throw std::invalid_argument("a " + std::string(dtype_name(t.dtype)) + " tensor with no data");
  std::vector<py::ssize_t> shape(t.shape.begin(), t.shape.end());
  if (t.is_real()) {  // quantized codes leave as their float values
    if (t.dtype == DType::f32 && !t.borrowed && t.f32 && t.f32.use_count() == 1 && t.f32->size() == static_cast<size_t>(t.numel())) {
      auto* holder = new std::shared_ptr<std::vector<float>>(t.f32);
      py::capsule owner(holder, [](void* p) { delete static_cast<std::shared_ptr<std::vector<float>>*>(p); });
      return py::array_t<float>(shape, (*holder)->data(), owner);
    }
    py::array_t<float> out(shape);
    std::copy(t.f(), t.f() + t.numel(), out.mutable_data());
    return out;
  }
  // Integers: int64 values, or codes without parameters (a quantized file's weight codes) as they are.
  auto copied = [&](auto* data) {
    using T = std::remove_const_t<std::remove_pointer_t<decltype(data)>>;
    py::array_t<T> out(shape);
    std::copy(data, data + t.numel(), out.mutable_data());
    return py::array(out);
  };
  if (t.dtype == DType::u8 && t.bytes) return copied(t.u8());
  if (t.dtype == DType::s8 && t.bytes) return copied(t.s8());
  if (t.dtype == DType::i32 && t.i32) return copied(static_cast<const int32_t*>(t.i32->data()));
  if (t.i64) return copied(static_cast<const int64_t*>(t.i()));
  throw std::invalid_argument(std::string("a ") + dtype_name(t.dtype) + " tensor with no data this interface can return");
}

std::vector<Tensor> to_tensors(const std::vector<py::array>& arrays, const Engine& engine,
                               std::vector<py::array>& keep) {
  std::vector<Tensor> tensors;
  for (size_t k = 0; k < arrays.size(); ++k)
    tensors.push_back(to_tensor(arrays[k], k < engine.inputs().size() ? engine.inputs()[k].name : "input", keep));
  return tensors;
}

py::list to_list(std::vector<Tensor>& tensors) {
  py::list out;
  for (Tensor& t : tensors) {
    out.append(to_array(t));
    t = Tensor();
  }
  return out;
}

const char* mode_name(Mode mode) {
  switch (mode) {
    case Mode::int8_static: return "static";
    case Mode::int8_dynamic: return "dynamic";
    default: return "fp32";
  }
}

Mode mode_from(const std::string& name) {
  if (name == "fp32") return Mode::f32;
  if (name == "static") return Mode::int8_static;
  if (name == "dynamic") return Mode::int8_dynamic;
  throw InvalidArgument("mode must be 'fp32', 'static' or 'dynamic', got '" + name + "'");
}

// An attribute as Python sees it (a subgraph as None: the C export lowers no If / Loop).
py::object attribute_value(const Attribute& a) {
  switch (a.kind) {
    case Attribute::Kind::i: return py::int_(a.i);
    case Attribute::Kind::f: return py::float_(a.f);
    case Attribute::Kind::s: return py::str(a.s);
    case Attribute::Kind::ints: return py::cast(a.ints);
    case Attribute::Kind::floats: return py::cast(a.floats);
    case Attribute::Kind::strings: return py::cast(a.strings);
    case Attribute::Kind::tensor: return to_array(a.tensor);
    default: return py::none();
  }
}

py::list value_infos(const std::vector<ValueInfo>& infos) {
  py::list out;
  for (const ValueInfo& v : infos)
    out.append(py::make_tuple(v.name, dtype_name(v.dtype), v.shape, v.was_float16));
  return out;
}

}  // namespace

PYBIND11_MODULE(_engine, m) {
  m.doc() = "edgequant inference engine (private; use edgequant.Engine).";
  // One Python type for corrupt data across edgequant's modules: _core's.
  py::handle corrupt = py::object(py::module_::import("edgequant._core").attr("CorruptDataError")).release();
  m.attr("CorruptDataError") = corrupt;
  bindings::register_exception_translation(corrupt);
  m.def("supported_ops", &supported_ops);
  m.def("supported_backends", &backend_names, "The backends of this build, the default (fastest) first.");
  m.def("int8_weight_bits", [](const std::string& backend) {
          return backend.empty() ? int8_weight_bits() : int8_weight_bits(backend);
        }, py::arg("backend") = std::string(),
        "The widest INT8 weight grid the backend sums exactly on this CPU (8, or 7: oneDNN without VNNI); "
        "without a backend, the engine's default, the narrowest of all.");
  m.def("quantize_int8_weights", [](const py::array_t<float, py::array::c_style | py::array::forcecast>& weights,
                                     int bits) {
          require(weights.ndim() == 2, "weights must be 2-D [channels, weights per channel], got " +
                                           std::to_string(weights.ndim()) + "-D");
          const int64_t channels = weights.shape(0), per_channel = weights.shape(1);
          const QuantizedWeights q = quantize_weights(weights.data(), channels, per_channel, bits);
          py::array_t<int8_t> codes({channels, per_channel});
          std::copy(q.values.begin(), q.values.end(), codes.mutable_data());
          py::array_t<float> scales(channels);
          std::copy(q.scales.begin(), q.scales.end(), scales.mutable_data());
          return py::make_tuple(codes, scales);
        }, py::arg("weights"), py::arg("bits") = 8,
        "The engine's INT8 weights of a [channels, k] float32 array: (int8 codes, float32 scale per channel), "
        "symmetric, scale max|w| / 127 (bits 8: codes in [-127, 127]) or max|w| / 63 (bits 7).");
  py::class_<Engine>(m, "Engine")
      .def_static("from_bytes", [](const py::bytes& data, const std::string& backend, int threads,
                                   const std::vector<std::string>& outputs, const std::string& base_dir,
                                   int int8_weight_bits, bool fuse_residual_adds) {
             EngineOptions o;
             o.fuse_residual_adds = fuse_residual_adds;
             o.backend = backend;
             o.threads = threads;
             o.outputs = outputs;
             o.int8_weight_bits = int8_weight_bits;
             std::string bytes = data;
             py::gil_scoped_release release;
             return std::make_unique<Engine>(Engine::from_bytes(bytes.data(), bytes.size(), o, base_dir));
           }, py::arg("data"), py::arg("backend"), py::arg("threads"), py::arg("outputs") = std::vector<std::string>{},
           py::arg("base_dir") = std::string(), py::arg("int8_weight_bits") = 0, py::arg("fuse_residual_adds") = true)
      .def_property_readonly("inputs", [](const Engine& e) { return value_infos(e.inputs()); })
      .def_property_readonly("outputs", [](const Engine& e) { return value_infos(e.outputs()); })
      .def_property_readonly("backend", &Engine::backend_name)
      .def_property_readonly("int8_weight_bits", &Engine::int8_weight_bits,
                             "The INT8 weights' grid: 8 bits, or 7 where the CPU's INT8 kernels would saturate.")
      .def_property_readonly("ignored_outputs", &Engine::ignored_outputs)
      .def_property_readonly("mode", [](const Engine& e) { return mode_name(e.mode()); })
      .def("plan", [](const Engine& e) {
             py::list out;
             for (const PlanStep& s : e.plan_steps()) out.append(py::make_tuple(s.name, s.op_type, s.precision));
             return out;
           }, "(node name, op type, precision) per executed node, precision 'f32' / 'int8_static' / 'int8_dynamic' (or 'f32_s8_weights': a quantized file's LSTM on its s8 recurrent codes).")
      .def("run", [](Engine& e, const std::vector<py::array>& arrays) {
             std::vector<py::array> keep;
             std::vector<Tensor> inputs = to_tensors(arrays, e, keep), outputs;
             {
               py::gil_scoped_release release;
               outputs = e.run(inputs);
             }
             return to_list(outputs);
           }, py::arg("inputs"))
      .def("run_capture", [](Engine& e, const std::vector<py::array>& arrays, bool every_tensor) {
             std::vector<py::array> keep;
             std::vector<Tensor> inputs = to_tensors(arrays, e, keep), outputs;
             std::map<std::string, Tensor> captured;
             {
               py::gil_scoped_release release;
               if (every_tensor) {
                 outputs = e.run_observed(
                     inputs, [&](const std::string& name, const Tensor& t) { captured[name] = t; },
                     Engine::Observed::every_tensor);
               } else {
                 outputs = e.run(inputs, &captured);
               }
             }
             py::dict d;
             py::list results = to_list(outputs);  // before the captured copies let go of shared buffers
             for (auto& kv : captured) {
               d[py::str(kv.first)] = to_array(kv.second);
               kv.second = Tensor();
             }
             return py::make_tuple(results, d);
           }, py::arg("inputs"), py::arg("every_tensor") = false,
           "Outputs and the calibration tensors of this run (every float value with every_tensor).")
      .def("value_layouts", [](Engine& e, const std::vector<py::array>& arrays) {
             std::vector<py::array> keep;
             std::vector<Tensor> inputs = to_tensors(arrays, e, keep);
             std::map<std::string, std::string> layouts;
             {
               py::gil_scoped_release release;
               e.run_observed(
                   inputs,
                   [&](const std::string& name, const Tensor& t) {
                     layouts[name] = t.native ? t.native->layout() : t.is_quantized() ? "codes" : "plain";
                   },
                   Engine::Observed::every_tensor_as_held);
             }
             return layouts;
           }, py::arg("inputs"),
           "How each value lay after a run (a diagnostic): the backend's layout (\"nhwc\", \"nChw16c\" ...), "
           "\"codes\" (plain u8 codes) or \"plain\".")
      .def("lowered_graph", [](const Engine& e) {
             const Graph& g = e.graph();
             py::list nodes;
             for (const Node& n : g.nodes) {
               py::dict attributes;
               for (const auto& [key, a] : n.attributes) attributes[py::str(key)] = attribute_value(a);
               nodes.append(py::make_tuple(n.op_type, n.name, n.inputs, n.outputs, attributes, n.domain));
             }
             py::dict constants;
             // A weight whose float values static INT8 released (its kernel holds the s8 codes): None.
             for (const auto& [name, t] : g.initializers)
               constants[py::str(name)] = t.has_data() ? py::object(to_array(t)) : py::object(py::none());
             return py::make_tuple(nodes, constants, g.opset);
           }, "The graph after the passes (constants folded, BatchNormalization and biases folded, activations "
              "fused): (nodes as (op_type, name, inputs, outputs, attributes, domain), constants, opset). What the "
              "C export lowers. A weight whose float values static INT8 released (its kernel holds the codes) is None.")
      .def("quantizable_layers", &Engine::quantizable_layers)
      .def("calibration_tensors", &Engine::calibration_tensors)
      .def("set_activation_range", &Engine::set_activation_range, py::arg("tensor"), py::arg("min"), py::arg("max"),
           py::call_guard<py::gil_scoped_release>())
      .def("set_activation_ranges", &Engine::set_activation_ranges, py::arg("ranges"),
           "name -> (min, max) for several calibration tensors at once (one re-plan).",
           py::call_guard<py::gil_scoped_release>())
      .def("activation_quantization", &Engine::activation_quantization, py::arg("tensor"))
      .def("integer_tensors", &Engine::integer_tensors)
      .def("integer_layers", [](const Engine& e) {
             py::dict out;
             for (const Engine::IntegerLayer& l : e.integer_layers()) {
               py::dict d;
               d["weights"] = py::array_t<int8_t>(static_cast<py::ssize_t>(l.weights->values.size()), l.weights->values.data());
               d["weight_scales"] = py::array_t<float>(static_cast<py::ssize_t>(l.weights->scales.size()), l.weights->scales.data());
               if (const FixedPointRequantization* r = l.requantization.get()) {
                 d["bias"] = py::array_t<int32_t>(static_cast<py::ssize_t>(r->bias.size()), r->bias.data());
                 d["multipliers"] = py::array_t<int32_t>(static_cast<py::ssize_t>(r->multipliers.size()), r->multipliers.data());
                 d["shifts"] = py::array_t<int32_t>(static_cast<py::ssize_t>(r->shifts.size()), r->shifts.data());
                 d["zero_point"] = r->zero_point;
                 d["min"] = r->min;
                 d["max"] = r->max;
               }
               d["input"] = py::make_tuple(l.input_scale, l.input_zero_point);
               d["output"] = py::make_tuple(l.output_scale, l.output_zero_point);
               out[py::str(l.name)] = d;
             }
             return out;
           }, "Static INT8 layers: name -> their s8 weights (flat, the float weights' order), weight scales, the "
              "input's and output's (scale, zero point), and where they requantize in TFLite's fixed point its int32 "
              "bias, multipliers, shifts, output zero point and clamp (u8).")
      .def_property_readonly("carries_quantization", &Engine::carries_quantization,
                             "Whether the model gives its own activation scales and zero points (QDQ or QLinear "
                             "ops): static INT8 then runs without calibration.")
      .def("set_mode", [](Engine& e, const std::string& mode) {
             const Mode m = mode_from(mode);
             py::gil_scoped_release release;  // waits for runs on other threads
             e.set_mode(m);
           }, py::arg("mode"))
      .def("set_threads", &Engine::set_threads, py::arg("threads"), py::call_guard<py::gil_scoped_release>())
      .def("release_float_weights", &Engine::release_float_weights,
           "INT8 modes only: free the float weights of the quantizable layers; FP32 is refused afterwards.",
           py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("float_weights_released", &Engine::float_weights_released)
      .def("set_profiling", &Engine::set_profiling, py::arg("on"), py::call_guard<py::gil_scoped_release>())
      .def("reset_layer_times", &Engine::reset_layer_times)
      .def("layer_times", [](const Engine& e) {
        py::list out;
        for (const LayerTime& t : e.layer_times()) out.append(py::make_tuple(t.name, t.op_type, t.seconds, t.calls));
        return out;
      });
  // Calibration in C++: each run feeds the calibration tensors into range observers (nothing kept).
  py::class_<Calibrator>(m, "Calibrator")
      .def(py::init([](Engine& engine, const std::string& method, double percentile, bool every_tensor) {
             quant::RangeStrategy strategy;
             strategy.method = quant::range_method_from_name(method);
             strategy.percentile = percentile;
             return std::make_unique<Calibrator>(engine, strategy, every_tensor ? Engine::Observed::every_tensor
                                                                               : Engine::Observed::calibration_tensors);
           }), py::arg("engine"), py::arg("method"), py::arg("percentile") = 99.99, py::arg("every_tensor") = false,
           py::keep_alive<1, 2>())
      .def("observe", [](Calibrator& c, const std::vector<py::array>& arrays) {
             std::vector<py::array> keep;
             std::vector<Tensor> inputs = to_tensors(arrays, c.engine(), keep);
             py::gil_scoped_release release;
             c.observe(inputs);
           }, py::arg("inputs"), "One FP32 run on a calibration batch; its calibration tensors are observed.")
      .def("ranges", &Calibrator::ranges, py::call_guard<py::gil_scoped_release>())
      .def("apply", &Calibrator::apply, "Sets the ranges on the engine (one re-plan).",
           py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("runs", &Calibrator::runs);
}
