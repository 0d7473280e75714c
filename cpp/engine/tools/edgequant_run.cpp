// edgequant-run: runs an ONNX model with the native engine, no Python involved. Inputs are
// filled with a fixed pseudo-random pattern (symbolic dims become --batch / --dim); prints the output
// shapes, a checksum and the latency. Static INT8 is calibrated by --method (the range strategies
// of quant/range_observer.h, as the Python front end's) over --calibration inputs of the same
// generator, other seeds than the timed input's.
// A model that carries its own quantization (QDQ, QOperator) runs static INT8 on the file's scales, uncalibrated.
//   edgequant-run MODEL.onnx [--mode fp32|static|dynamic] [--method minmax|percentile|entropy|mse]
//                 [--calibration N] [--threads N] [--runs R] [--batch B] [--backend NAME] [--markers 1]
//                 [--dim N] [--save PREFIX]
// --dim N: the size of every symbolic dim but the first (default 1; an OCR model's height and width).
// --save PREFIX writes each float32 output's values, raw, to PREFIX.K.f32 (K its index): two backends'
// outputs compared on the host (a digest says only whether they are equal).
// --markers 1 brackets every step of the last timed run with the marker syscall of an instruction
// counter under qemu (0x7e57: ENOSYS elsewhere, harmless) and prints "step K PRECISION OP NAME"
// for each: benchmarks/bench_arm_icount.py --layers reads instructions per layer from it.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <unistd.h>

#include "backend/registry.h"
#include "common/error.h"
#include "session/calibration.h"
#include "session/engine.h"

using namespace edgequant::engine;

namespace {

constexpr uint32_t kTimedSeed = 12345;
constexpr long kMarkerSyscall = 0x7e57;

// One tensor per model input, uniform in [0, 1) from a linear congruential generator started at
// `seed` (int64 inputs stay zero); symbolic dims become `batch` (the first) or `dim`.
std::vector<Tensor> make_inputs(const Engine& engine, int64_t batch, int64_t dim, uint32_t seed) {
  std::vector<Tensor> inputs;
  uint32_t state = seed;
  for (const ValueInfo& info : engine.inputs()) {
    Shape shape = info.shape;
    for (size_t d = 0; d < shape.size(); ++d)
      if (shape[d] < 0) shape[d] = d == 0 ? batch : dim;
    Tensor t = info.dtype == DType::f32 ? Tensor::zeros_f32(shape, info.name) : Tensor::zeros_i64(shape, info.name);
    for (int64_t i = 0; i < t.numel(); ++i) {
      state = state * 1664525u + 1013904223u;
      if (t.dtype == DType::f32) t.f()[i] = static_cast<float>(state >> 8) / 16777216.0f;
    }
    inputs.push_back(t);
  }
  return inputs;
}

// Ranges of every calibration tensor by `strategy` over `count` inputs, observed run by run (no
// activation kept), then static INT8. Returns the tensor count.
size_t calibrate_static(Engine& engine, int64_t batch, int64_t dim, int count,
                        const edgequant::quant::RangeStrategy& strategy) {
  Calibrator calibrator(engine, strategy);
  for (int k = 0; k < count; ++k)
    calibrator.observe(make_inputs(engine, batch, dim, kTimedSeed + 1 + static_cast<uint32_t>(k)));
  calibrator.apply();
  engine.set_mode(Mode::int8_static);
  return engine.calibration_tensors().size();
}

// An integer option's value: a whole number in [least, INT32_MAX], or an error that names the option.
int64_t whole_number(const std::string& key, const std::string& value, int64_t least) {
  size_t used = 0;
  long long n = 0;
  try {
    n = std::stoll(value, &used);
  } catch (const std::exception&) {  // not a number, or out of long long's range
    used = 0;
  }
  if (used == 0 || used != value.size() || n < least || n > INT32_MAX)
    throw edgequant::InvalidArgument(key + " must be a whole number from " + std::to_string(least) + " to " +
                                     std::to_string(INT32_MAX) + ", got '" + value + "'");
  return n;
}

// A float32 tensor's values, raw, to `path`.
void write_values(const std::string& path, const Tensor& t) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) throw edgequant::InvalidArgument("--save: cannot write '" + path + "'");
  const size_t count = static_cast<size_t>(t.numel());
  const bool written = std::fwrite(t.f(), sizeof(float), count, file) == count;
  if (std::fclose(file) != 0 || !written) throw edgequant::InvalidArgument("--save: writing '" + path + "' failed");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help")) {
    std::string backends;  // the ones this build registered, the default first
    for (const std::string& name : backend_names()) backends += (backends.empty() ? "" : "|") + name;
    std::printf("usage: edgequant-run MODEL.onnx [--mode fp32|static|dynamic] [--method minmax|percentile|entropy|mse] "
                "[--calibration N] [--threads N] [--runs R] [--batch B] [--backend %s] [--markers 1] [--dim N] "
                "[--save PREFIX]\n"
                "  --method: how static mode turns calibration activations into ranges (default minmax)\n"
                "  --calibration N: static mode's calibration inputs (default 8)\n"
                "  --backend: default %s\n"
                "  --dim N: symbolic dims after the first (default 1)\n"
                "  --save PREFIX: each float32 output's values, raw, to PREFIX.K.f32\n",
                backends.c_str(), default_backend().c_str());
    return argc < 2 ? 2 : 0;
  }
  EngineOptions options;
  std::string mode = "fp32", method = "minmax";
  int runs = 10, calibration = 8;
  bool markers = false;
  std::string save;
  int64_t batch = 1, dim = 1;
  try {
    if (argc % 2 != 0) throw edgequant::InvalidArgument(std::string("option ") + argv[argc - 1] + " has no value");
    for (int k = 2; k + 1 < argc; k += 2) {
      const std::string key = argv[k], value = argv[k + 1];
      if (key == "--threads") options.threads = static_cast<int>(whole_number(key, value, 0));
      else if (key == "--runs") runs = static_cast<int>(whole_number(key, value, 1));
      else if (key == "--batch") batch = whole_number(key, value, 1);
      else if (key == "--dim") dim = whole_number(key, value, 1);
      else if (key == "--mode") mode = value;
      else if (key == "--method") method = value;
      else if (key == "--calibration") calibration = static_cast<int>(whole_number(key, value, 1));
      else if (key == "--backend") options.backend = value;
      else if (key == "--save") save = value;
      else if (key == "--markers") {
        if (value != "0" && value != "1") throw edgequant::InvalidArgument("--markers must be 0 or 1, got '" + value + "'");
        markers = value == "1";
      }
      else {
        std::fprintf(stderr, "edgequant-run: unknown option %s\n", key.c_str());
        return 2;
      }
    }
    edgequant::quant::RangeStrategy strategy;
    strategy.method = edgequant::quant::range_method_from_name(method);  // checked before the model loads
    Engine engine = Engine::from_file(argv[1], options);
    if (mode == "dynamic") engine.set_mode(Mode::int8_dynamic);
    else if (mode == "static" && engine.carries_quantization()) {  // a QDQ / QOperator file: its own scales
      engine.set_mode(Mode::int8_static);
      std::printf("quantization: the file's (no calibration)\n");
    } else if (mode == "static") {
      std::printf("calibration: %s ranges of %zu tensors over %d inputs\n", method.c_str(),
                  calibrate_static(engine, batch, dim, calibration, strategy), calibration);
    } else if (mode != "fp32") {
      throw edgequant::InvalidArgument("--mode must be fp32, static or dynamic, got '" + mode + "'");
    }
    if (mode != "fp32") engine.release_float_weights();  // INT8 from here on: the s8 weights suffice
    const std::vector<Tensor> inputs = make_inputs(engine, batch, dim, kTimedSeed);
    std::vector<Tensor> outputs = engine.run(inputs);  // warm-up: builds primitives
    std::vector<double> ms;
    for (int r = 0; r < runs; ++r) {
      if (markers && r == runs - 1) engine.set_step_hook([](size_t k) { syscall(kMarkerSyscall, static_cast<long>(k)); });
      const auto start = std::chrono::steady_clock::now();
      outputs = engine.run(inputs);
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    if (markers) {
      engine.set_step_hook({});
      const std::vector<PlanStep> plan = engine.plan_steps();
      for (size_t k = 0; k < plan.size(); ++k)
        std::printf("step %zu %s %s %s\n", k, plan[k].precision.c_str(), plan[k].op_type.c_str(), plan[k].name.c_str());
    }
    std::sort(ms.begin(), ms.end());
    for (size_t k = 0; k < outputs.size(); ++k) {
      double sum = 0;
      uint64_t bits = 14695981039346656037ull;  // FNV-1a of the float32 values' bytes: equal outputs, equal digests
      if (outputs[k].dtype == DType::f32) {
        const float* values = outputs[k].f();
        const int64_t count = outputs[k].numel();
        for (int64_t i = 0; i < count; ++i) {
          sum += values[i];
          unsigned char bytes[sizeof(float)];
          std::memcpy(bytes, values + i, sizeof(float));
          for (unsigned char byte : bytes) bits = (bits ^ byte) * 1099511628211ull;
        }
      }
      if (!save.empty() && outputs[k].dtype == DType::f32)
        write_values(save + "." + std::to_string(k) + ".f32", outputs[k]);
      std::printf("output %s %s sum %.6g bits %016llx\n", engine.outputs()[k].name.c_str(),
                  shape_string(outputs[k].shape).c_str(), sum, static_cast<unsigned long long>(bits));
    }
    std::printf("backend %s, mode %s, %d runs: median %.3f ms, min %.3f ms\n", engine.backend_name().c_str(),
                mode.c_str(), runs, ms[ms.size() / 2], ms.front());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "edgequant-run: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
