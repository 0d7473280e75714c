// Recurrent ONNX ops (issue 21): LSTM, GRU and RNN in float32, written from the ONNX operator
// definitions: forward / reverse / bidirectional, the optional inputs B, sequence_lens, initial_h,
// initial_c and P (peepholes), layout 0 and 1, clip, input_forget (LSTM), linear_before_reset (GRU)
// and the `activations` attribute with its alphas / betas.
//
// Per direction the input projection of every time step is one dense product on the backend's
// dense kernel, XW[t, b, :] = X[t, b, :] · Wᵀ + biases (the reference backend's is a plain loop,
// which the tests compare against). Each time step then adds H[b, :] · Rᵀ, a product too small for
// a library call to pay off (a oneDNN call per step cost ~100 µs at H = 128): a vectorised loop
// over Rᵀ, transposed once. An LSTM from a quantized file (com.microsoft's DynamicQuantizeLSTM, whose R
// is s8 codes times a scale per gate column, `_recurrent_scales`) keeps Rᵀ as those codes: each step
// reads a quarter of the bytes (at H = 512 the float Rᵀ is 4 MB a step, out of cache), the products
// still in float32 and the scale applied to each column's sum. The gate arithmetic after the
// products is a plain loop per batch row. A row b whose sequence_lens[b] is shorter than the sequence
// keeps its state after its last step and gets zeros in Y; the reverse direction reads X[len_b - 1],
// ..., X[0].
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <tuple>

#include "backend/vector_exp.h"
#include "common/simd.h"
#include "ops/op.h"
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define EDGEQUANT_RECURRENT_AVX512 1
#endif

namespace edgequant::engine {
namespace {

enum class Cell { lstm, gru, rnn };

// dst[b, j] = sum_k src[b, k] · wt[k, j] for j < n: `wt` holds Rᵀ with rows `ld` apart. Rows of
// Rᵀ are added scaled (an axpy per k), which vectorises over j without reassociating any sum.
EDGEQUANT_KERNEL void rows_times(const float* src, const float* wt, int64_t ld, float* dst, int64_t rows, int64_t k,
                                 int64_t n) {
  for (int64_t j = 0; j < rows * n; ++j) dst[j] = 0.0f;
  for (int64_t kk = 0; kk < k; ++kk) {  // each row of Rᵀ read once for all batch rows
    const float* w = wt + kk * ld;
    for (int64_t b = 0; b < rows; ++b) {
      const float s = src[b * k + kk];
      float* d = dst + b * n;
      for (int64_t j = 0; j < n; ++j) d[j] += s * w[j];
    }
  }
}

// dst[b, j] = scale[j] · sum_k src[b, k] · codes[k, j] for j < n, `codes` holding Rᵀ as s8 with rows
// `ld` apart: rows_times on a quarter of the bytes, each sum in the same order (k ascending).
EDGEQUANT_KERNEL void rows_times_codes_loop(const float* src, const int8_t* codes, const float* scale, int64_t ld,
                                            float* dst, int64_t rows, int64_t k, int64_t n) {
  for (int64_t j = 0; j < rows * n; ++j) dst[j] = 0.0f;
  for (int64_t kk = 0; kk < k; ++kk) {
    const int8_t* w = codes + kk * ld;
    for (int64_t b = 0; b < rows; ++b) {
      const float s = src[b * k + kk];
      float* d = dst + b * n;
      for (int64_t j = 0; j < n; ++j) d[j] += s * static_cast<float>(w[j]);
    }
  }
  for (int64_t b = 0; b < rows; ++b)
    for (int64_t j = 0; j < n; ++j) dst[b * n + j] *= scale[j];
}

#if defined(EDGEQUANT_RECURRENT_AVX512)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12's own _mm512_cvtepi8_epi32 (_mm512_undefined)
// The same with 64 columns' sums held in four registers through all k (GCC's vectorisation of the
// loop above widens the codes in two steps through 256-bit halves, 4x slower here).
__attribute__((target("avx512f"))) void rows_times_codes_avx512(const float* src, const int8_t* codes,
                                                                const float* scale, int64_t ld, float* dst,
                                                                int64_t rows, int64_t k, int64_t n) {
  const int64_t wide = n / 64 * 64;
  for (int64_t b = 0; b < rows; ++b) {
    const float* h = src + b * k;
    float* d = dst + b * n;
    for (int64_t j = 0; j < wide; j += 64) {
      __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      const int8_t* w = codes + j;
      for (int64_t kk = 0; kk < k; ++kk, w += ld) {
        const __m512 s = _mm512_set1_ps(h[kk]);
        const __m128i* q = reinterpret_cast<const __m128i*>(w);  // 16 codes each
        a0 = _mm512_fmadd_ps(s, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(q))), a0);
        a1 = _mm512_fmadd_ps(s, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(q + 1))), a1);
        a2 = _mm512_fmadd_ps(s, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(q + 2))), a2);
        a3 = _mm512_fmadd_ps(s, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(q + 3))), a3);
      }
      _mm512_storeu_ps(d + j, _mm512_mul_ps(a0, _mm512_loadu_ps(scale + j)));
      _mm512_storeu_ps(d + j + 16, _mm512_mul_ps(a1, _mm512_loadu_ps(scale + j + 16)));
      _mm512_storeu_ps(d + j + 32, _mm512_mul_ps(a2, _mm512_loadu_ps(scale + j + 32)));
      _mm512_storeu_ps(d + j + 48, _mm512_mul_ps(a3, _mm512_loadu_ps(scale + j + 48)));
    }
    if (wide < n) rows_times_codes_loop(h, codes + wide, scale + wide, ld, d + wide, 1, k, n - wide);
  }
}
#pragma GCC diagnostic pop
#endif

void rows_times_codes(const float* src, const int8_t* codes, const float* scale, int64_t ld, float* dst,
                      int64_t rows, int64_t k, int64_t n) {
#if defined(EDGEQUANT_RECURRENT_AVX512)
  if (cpu_has_avx512f()) return rows_times_codes_avx512(src, codes, scale, ld, dst, rows, k, n);
#endif
  rows_times_codes_loop(src, codes, scale, ld, dst, rows, k, n);
}

// The default activations over a run of values in place, as vectorised lanes (backend/vector_exp.h:
// std::tanh / std::exp per element dominated the step time); the rest go element by element.
EDGEQUANT_KERNEL void sigmoid_in_place(float* v, int64_t n) {
  for (int64_t k = 0; k < n; ++k) v[k] = 1.0f / (1.0f + exp_lane(-v[k]));
}
EDGEQUANT_KERNEL void tanh_in_place(float* v, int64_t n) {
  for (int64_t k = 0; k < n; ++k) v[k] = tanh_lane(v[k]);
}
// ONNX's clip: the activations' inputs bounded to [-limit, limit] (limit 0: no clip).
EDGEQUANT_KERNEL void clip_in_place(float* v, int64_t n, float limit) {
  if (limit <= 0) return;
  for (int64_t k = 0; k < n; ++k) v[k] = v[k] < -limit ? -limit : (v[k] > limit ? limit : v[k]);
}

// One entry of the `activations` attribute, with its alpha / beta.
struct ActivationFn {
  enum class Kind {
    relu, tanh, sigmoid, affine, leaky_relu, thresholded_relu, scaled_tanh, hard_sigmoid, elu, softsign, softplus
  } kind = Kind::tanh;
  float alpha = 0, beta = 0;

  float operator()(float x) const {
    switch (kind) {
      case Kind::relu: return x > 0 ? x : 0.0f;
      case Kind::tanh: return tanh_lane(x);
      case Kind::sigmoid: return 1.0f / (1.0f + exp_lane(-x));
      case Kind::affine: return alpha * x + beta;
      case Kind::leaky_relu: return x >= 0 ? x : alpha * x;
      case Kind::thresholded_relu: return x > alpha ? x : 0.0f;
      case Kind::scaled_tanh: return alpha * std::tanh(beta * x);
      case Kind::hard_sigmoid: return std::max(0.0f, std::min(1.0f, alpha * x + beta));
      case Kind::elu: return x >= 0 ? x : alpha * (std::exp(x) - 1.0f);
      case Kind::softsign: return x / (1.0f + std::fabs(x));
      case Kind::softplus: return x > 20.0f ? x : std::log1p(std::exp(x));  // exp overflows far above 20
    }
    return x;
  }

  // f(clip(v)) over n values in place.
  void apply(float* v, int64_t n, float clip) const {
    clip_in_place(v, n, clip);
    if (kind == Kind::sigmoid) return sigmoid_in_place(v, n);
    if (kind == Kind::tanh) return tanh_in_place(v, n);
    for (int64_t k = 0; k < n; ++k) v[k] = (*this)(v[k]);
  }
};

// The activations ONNX lists for the recurrent ops: how many of activation_alpha / activation_beta
// each consumes (in order, per activation) and the values used when those lists run short.
struct ActivationSpec {
  const char* name;
  ActivationFn::Kind kind;
  int alphas, betas;
  float default_alpha, default_beta;
};
const ActivationSpec kActivations[] = {
    {"relu", ActivationFn::Kind::relu, 0, 0, 0, 0},
    {"tanh", ActivationFn::Kind::tanh, 0, 0, 0, 0},
    {"sigmoid", ActivationFn::Kind::sigmoid, 0, 0, 0, 0},
    {"affine", ActivationFn::Kind::affine, 1, 1, 1.0f, 0.0f},
    {"leakyrelu", ActivationFn::Kind::leaky_relu, 1, 0, 0.01f, 0},
    {"thresholdedrelu", ActivationFn::Kind::thresholded_relu, 1, 0, 1.0f, 0},
    {"scaledtanh", ActivationFn::Kind::scaled_tanh, 1, 1, 1.0f, 1.0f},
    {"hardsigmoid", ActivationFn::Kind::hard_sigmoid, 1, 1, 0.2f, 0.5f},
    {"elu", ActivationFn::Kind::elu, 1, 0, 1.0f, 0},
    {"softsign", ActivationFn::Kind::softsign, 0, 0, 0, 0},
    {"softplus", ActivationFn::Kind::softplus, 0, 0, 0, 0},
};

class Recurrent : public Op {
 public:
  Recurrent(const Node& node, const Graph& graph, Cell cell) : Op(node), cell_(cell) {
    gates_ = cell == Cell::lstm ? 4 : cell == Cell::gru ? 3 : 1;
    const size_t max_inputs = cell == Cell::lstm ? 8 : 6, max_outputs = cell == Cell::lstm ? 3 : 2;
    check(node.inputs.size() >= 3 && node.inputs.size() <= max_inputs && !node.inputs[1].empty() &&
              !node.inputs[2].empty(),
          [&] { return "expects inputs X, W, R and at most " + std::to_string(max_inputs) + " inputs in all"; });
    check(node.outputs.size() <= max_outputs, [&] { return "has at most " + std::to_string(max_outputs) + " outputs"; });
    const std::string direction = node.attr_s("direction", "forward");
    check(direction == "forward" || direction == "reverse" || direction == "bidirectional",
          [&] { return "direction '" + direction + "' is not one of forward, reverse, bidirectional"; });
    reverse_ = direction == "reverse";
    dirs_ = direction == "bidirectional" ? 2 : 1;
    hidden_size_ = node.attr_i("hidden_size", 0);
    check(hidden_size_ >= 0, "hidden_size must be > 0");
    layout_ = node.attr_i("layout", 0);
    check(layout_ == 0 || layout_ == 1, [&] { return "layout " + std::to_string(layout_) + " is not 0 or 1"; });
    if (node.has("clip")) {
      clip_ = node.attr_f("clip", 0);
      check(clip_ > 0, [&] { return "clip must be > 0, got " + std::to_string(clip_); });
    }
    input_forget_ = cell == Cell::lstm && node.attr_i("input_forget", 0) != 0;
    linear_before_reset_ = cell == Cell::gru && node.attr_i("linear_before_reset", 0) != 0;
    read_activations();
    constant_weights_ = true;
    for (size_t k = 1; k < 4 && k < node.inputs.size(); ++k)
      if (!node.inputs[k].empty() && !graph.is_constant(node.inputs[k])) constant_weights_ = false;
    if (cell == Cell::lstm && constant_weights_) hold_codes(graph.initializers.at(node.inputs[2]));
  }

  // "f32_s8_weights" where R is held as s8 codes (a quantized file's LSTM), else "f32".
  const char* precision() const override { return codes_[0].empty() ? "f32" : "f32_s8_weights"; }

  void run(RunContext& ctx, const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) override {
    const Tensor& x = float_input(inputs, 0);
    check(x.rank() == 3, [&] { return "expects X of rank 3, got shape " + shape_string(x.shape); });
    const int64_t seq = x.shape[layout_ ? 1 : 0], batch = x.shape[layout_ ? 0 : 1], in_size = x.shape[2];
    const Tensor& w = float_input(inputs, 1);
    const Tensor& r = float_input(inputs, 2);
    check(r.rank() == 3, [&] { return "expects R of rank 3, got shape " + shape_string(r.shape); });
    const int64_t h_size = hidden_size_ ? hidden_size_ : r.shape[2], gh = gates_ * h_size;
    check(w.shape == Shape({dirs_, gh, in_size}),
          [&] { return "W has shape " + shape_string(w.shape) + ", expected " + shape_string({dirs_, gh, in_size}); });
    check(r.shape == Shape({dirs_, gh, h_size}),
          [&] { return "R has shape " + shape_string(r.shape) + ", expected " + shape_string({dirs_, gh, h_size}); });
    const Tensor* b = optional_input(inputs, 3, {dirs_, 2 * gh}, "B");
    const std::vector<int64_t> lens = sequence_lens(inputs, seq, batch);
    const Shape state_shape = layout_ ? Shape{batch, dirs_, h_size} : Shape{dirs_, batch, h_size};
    const Tensor* h0 = optional_input(inputs, 5, state_shape, "initial_h");
    const Tensor* c0 = cell_ == Cell::lstm ? optional_input(inputs, 6, state_shape, "initial_c") : nullptr;
    const Tensor* p = cell_ == Cell::lstm ? optional_input(inputs, 7, {dirs_, 3 * h_size}, "P") : nullptr;

    // Everything is computed time-major ([seq, batch, ...], Y as [seq, dirs, batch, H]) and
    // transposed at the end for layout 1.
    const std::vector<float> xs = layout_ ? swap01(x.f(), batch, seq, in_size) : std::vector<float>();
    const float* xt = layout_ ? xs.data() : x.f();
    const std::vector<float> h_init = h0 ? state_major(h0->f(), batch, h_size) : std::vector<float>();
    const std::vector<float> c_init = c0 ? state_major(c0->f(), batch, h_size) : std::vector<float>();
    std::vector<float> y(static_cast<size_t>(seq * dirs_ * batch * h_size), 0.0f);
    std::vector<float> y_h(static_cast<size_t>(dirs_ * batch * h_size), 0.0f), y_c(y_h.size(), 0.0f);
    if (!h_init.empty()) y_h = h_init;
    if (!c_init.empty()) y_c = c_init;
    if (constant_weights_ && cached_backend_ != &ctx.backend) kernels_.clear();
    cached_backend_ = &ctx.backend;

    Shape dims{seq, batch, in_size, h_size};
    for (int64_t d = 0; d < dirs_; ++d) {
      Direction dir;
      dir.index = d;
      dir.reverse = reverse_ || d == 1;
      dir.w = w.f() + d * gh * in_size;
      dir.r = r.f() + d * gh * h_size;
      std::vector<float>& rt = transposed_[d];
      if (!codes_[d].empty()) {
        dir.codes = codes_[d].data();
        dir.column_scales = column_scales_.data() + d * gh;
      } else if (!constant_weights_ || rt.size() != static_cast<size_t>(gh * h_size)) {
        rt.resize(static_cast<size_t>(gh * h_size));
        for (int64_t n = 0; n < gh; ++n)
          for (int64_t k = 0; k < h_size; ++k) rt[k * gh + n] = dir.r[n * h_size + k];
      }
      dir.rt = rt.data();
      dir.b = b ? b->f() + d * 2 * gh : nullptr;
      dir.p = p ? p->f() + d * 3 * h_size : nullptr;
      dir.h = y_h.data() + d * batch * h_size;
      dir.c = y_c.data() + d * batch * h_size;
      run_direction(ctx.backend, dims, xt, lens, dir, y.data());
    }

    const std::string context = description();
    if (outputs.size() > 0) {
      outputs[0] = Tensor::zeros_f32(layout_ ? Shape{batch, seq, dirs_, h_size} : Shape{seq, dirs_, batch, h_size},
                                     context);
      if (layout_) {  // [seq, dirs, batch, H] -> [batch, seq, dirs, H]
        float* out = outputs[0].f();
        for (int64_t s = 0; s < seq; ++s)
          for (int64_t d = 0; d < dirs_; ++d)
            for (int64_t bb = 0; bb < batch; ++bb)
              std::copy_n(y.data() + ((s * dirs_ + d) * batch + bb) * h_size, h_size,
                          out + ((bb * seq + s) * dirs_ + d) * h_size);
      } else {
        std::copy(y.begin(), y.end(), outputs[0].f());
      }
    }
    for (size_t k = 1; k < outputs.size() && k < 3; ++k) {
      const std::vector<float>& state = k == 1 ? y_h : y_c;
      outputs[k] = Tensor::zeros_f32(state_shape, context);
      if (layout_) {
        const std::vector<float> t = swap01(state.data(), dirs_, batch, h_size);
        std::copy(t.begin(), t.end(), outputs[k].f());
      } else {
        std::copy(state.begin(), state.end(), outputs[k].f());
      }
    }
  }

 private:
  struct Direction {
    int64_t index = 0;
    bool reverse = false;
    const float *w = nullptr, *r = nullptr, *b = nullptr, *p = nullptr;
    const float* rt = nullptr;  // Rᵀ, [H, gates · H]
    const int8_t* codes = nullptr;  // or Rᵀ as s8 codes, [H, gates · H], times column_scales
    const float* column_scales = nullptr;
    float *h = nullptr, *c = nullptr;  // the state [batch, H], updated in place
  };

  void read_activations() {
    const int per_dir = cell_ == Cell::lstm ? 3 : cell_ == Cell::gru ? 2 : 1;
    std::vector<std::string> names;
    auto it = node_.attributes.find("activations");
    if (it != node_.attributes.end()) {
      check(it->second.kind == Attribute::Kind::strings, "attribute 'activations' must be a list of strings");
      names = it->second.strings;
      check(static_cast<int64_t>(names.size()) == per_dir * dirs_,
            [&] { return "activations lists " + std::to_string(names.size()) + " functions, expected " +
                std::to_string(per_dir * dirs_) + " (" + std::to_string(per_dir) + " per direction)"; });
    } else {
      const std::vector<std::string> fallback = cell_ == Cell::lstm  ? std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}
                                                : cell_ == Cell::gru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                                                     : std::vector<std::string>{"Tanh"};
      for (int64_t d = 0; d < dirs_; ++d) names.insert(names.end(), fallback.begin(), fallback.end());
    }
    const std::vector<float> alphas = floats("activation_alpha"), betas = floats("activation_beta");
    size_t next_alpha = 0, next_beta = 0;
    for (const std::string& name : names) {
      std::string lower = name;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
      const ActivationSpec* spec = nullptr;
      for (const ActivationSpec& s : kActivations)
        if (lower == s.name) spec = &s;
      check(spec != nullptr, [&] { return "activation '" + name +
                                 "' is not supported (Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, "
                                 "ScaledTanh, HardSigmoid, Elu, Softsign, Softplus)"; });
      ActivationFn fn;
      fn.kind = spec->kind;
      fn.alpha = spec->default_alpha;
      fn.beta = spec->default_beta;
      if (spec->alphas && next_alpha < alphas.size()) fn.alpha = alphas[next_alpha++];
      if (spec->betas && next_beta < betas.size()) fn.beta = betas[next_beta++];
      acts_.push_back(fn);
    }
  }

  // Rᵀ per direction as s8 codes q = R / s (s: `_recurrent_scales`, per direction and gate column)
  // where every value of R is exactly q·s with q in [-128, 127] — the quantized file's codes less a
  // zero point; else nothing, and the float path. At load, so that plan() says which.
  void hold_codes(const Tensor& r) {
    const std::vector<float> scales = floats("_recurrent_scales");
    if (scales.empty() || r.dtype != DType::f32 || r.rank() != 3 || r.shape[0] != dirs_) return;
    const int64_t gh = r.shape[1], h_size = r.shape[2];
    if (static_cast<int64_t>(scales.size()) != dirs_ * gh) return;
    std::vector<int8_t> codes[2];
    for (int64_t d = 0; d < dirs_; ++d) {
      codes[d].resize(static_cast<size_t>(gh * h_size));
      for (int64_t n = 0; n < gh; ++n) {
        const float s = scales[d * gh + n], *row = r.f() + (d * gh + n) * h_size;
        for (int64_t k = 0; k < h_size; ++k) {
          const float q = s > 0 && std::isfinite(s) ? std::nearbyint(row[k] / s) : 1e9f;
          if (!(q >= -128 && q <= 127) || q * s != row[k]) return;
          codes[d][k * gh + n] = static_cast<int8_t>(q);
        }
      }
    }
    column_scales_ = scales;
    for (int64_t d = 0; d < dirs_; ++d) codes_[d] = std::move(codes[d]);
  }

  std::vector<float> floats(const std::string& key) const {
    auto it = node_.attributes.find(key);
    if (it == node_.attributes.end()) return {};
    check(it->second.kind == Attribute::Kind::floats, [&] { return "attribute '" + key + "' must be a list of floats"; });
    return it->second.floats;
  }

  const Tensor* optional_input(const std::vector<const Tensor*>& inputs, size_t index, const Shape& shape,
                               const std::string& what) const {
    if (index >= inputs.size() || inputs[index] == nullptr) return nullptr;
    const Tensor& t = float_input(inputs, index);
    check(t.shape == shape, [&] { return what + " has shape " + shape_string(t.shape) + ", expected " + shape_string(shape); });
    return &t;
  }

  std::vector<int64_t> sequence_lens(const std::vector<const Tensor*>& inputs, int64_t seq, int64_t batch) const {
    if (inputs.size() <= 4 || inputs[4] == nullptr) return std::vector<int64_t>(static_cast<size_t>(batch), seq);
    const Tensor& t = *inputs[4];
    check(t.shape == Shape({batch}), [&] { return "sequence_lens has shape " + shape_string(t.shape) + ", expected [" +
                                         std::to_string(batch) + "]"; });
    std::vector<int64_t> lens = t.as_i64();
    for (int64_t len : lens)
      check(len >= 0 && len <= seq, [&] { return "sequence_lens holds " + std::to_string(len) + ", outside [0, " +
                                        std::to_string(seq) + "] (the sequence length)"; });
    return lens;
  }

  // [a, b, inner] -> [b, a, inner].
  static std::vector<float> swap01(const float* src, int64_t a, int64_t b, int64_t inner) {
    std::vector<float> dst(static_cast<size_t>(a * b * inner));
    for (int64_t i = 0; i < a; ++i)
      for (int64_t j = 0; j < b; ++j) std::copy_n(src + (i * b + j) * inner, inner, dst.data() + (j * a + i) * inner);
    return dst;
  }

  // An initial state in the node's layout as [dirs, batch, H].
  std::vector<float> state_major(const float* src, int64_t batch, int64_t h_size) const {
    if (layout_) return swap01(src, batch, dirs_, h_size);
    return std::vector<float>(src, src + dirs_ * batch * h_size);
  }

  // dst[m, :] = src[m, :] · weightsᵀ (+ bias), weights [n, k]; the kernel is kept while the
  // weights are constants of the model.
  void dense(Backend& backend, int key, int64_t m, int64_t k, int64_t n, const float* weights,
             const std::vector<float>* bias, const float* src, float* dst) {
    if (m == 0 || n == 0) return;
    if (k == 0) {  // no products: the bias alone
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) dst[i * n + j] = bias ? (*bias)[j] : 0.0f;
      return;
    }
    auto make = [&] {
      return backend.dense(m, k, n, weights, bias ? bias->data() : nullptr, Activation{}, QuantConfig{});
    };
    if (!constant_weights_ && m <= 64) {
      // Weights computed at run time (sliced from a constant inside an If branch, as Silero VAD's):
      // a backend kernel made for one small product costs more than the product; the loop instead.
      std::vector<float> wt(static_cast<size_t>(k * n));
      for (int64_t j = 0; j < n; ++j)
        for (int64_t kk = 0; kk < k; ++kk) wt[kk * n + j] = weights[j * k + kk];
      rows_times(src, wt.data(), n, dst, m, k, n);
      if (bias)
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) dst[i * n + j] += (*bias)[j];
      return;
    }
    if (!constant_weights_) {  // weights computed at run time: a kernel for these values only
      make()->run(src, dst);
      return;
    }
    const auto id = std::make_tuple(key, m, weights);
    auto it = kernels_.find(id);
    if (it == kernels_.end()) {
      if (kernels_.size() > 32) kernels_.clear();  // many sequence lengths: start over
      it = kernels_.emplace(id, make()).first;
    }
    it->second->run(src, dst);
  }

  void run_direction(Backend& backend, const Shape& dims, const float* x, const std::vector<int64_t>& lens,
                     const Direction& dir, float* y) {
    const int64_t seq = dims[0], batch = dims[1], in_size = dims[2], h_size = dims[3], gh = gates_ * h_size;
    // Bias of the input projection: Wb + Rb, except GRU's Rbh with linear_before_reset (it sits
    // inside r ⊙ (H · Rhᵀ + Rbh)).
    auto& bias = biases_[dir.index];
    bias.assign(static_cast<size_t>(gh), 0.0f);
    std::vector<float> rbh(static_cast<size_t>(h_size), 0.0f);
    if (dir.b) {
      for (int64_t j = 0; j < gh; ++j) bias[j] = dir.b[j] + dir.b[gh + j];
      if (linear_before_reset_)
        for (int64_t j = 0; j < h_size; ++j) {
          rbh[j] = dir.b[gh + 2 * h_size + j];
          bias[2 * h_size + j] -= rbh[j];
        }
    }
    std::vector<float> xw(static_cast<size_t>(seq * batch * gh));
    dense(backend, static_cast<int>(dir.index * 4), seq * batch, in_size, gh, dir.w, &bias, x, xw.data());

    // GRU without linear_before_reset multiplies r ⊙ H by Rh: its recurrent product covers z, r only.
    const bool split_h = cell_ == Cell::gru && !linear_before_reset_;
    const int64_t rec_n = split_h ? 2 * h_size : gh;
    std::vector<float> hr(static_cast<size_t>(batch * rec_n)), rh, rhr;
    if (split_h) rh.assign(static_cast<size_t>(batch * h_size), 0.0f), rhr.resize(rh.size());
    const int per_dir = cell_ == Cell::lstm ? 3 : cell_ == Cell::gru ? 2 : 1;
    const ActivationFn* act = acts_.data() + dir.index * per_dir;
    // Gate values: 4H for an LSTM row, 3H for a GRU row, 2H per batch row for GRU's z and r.
    std::vector<float> work(static_cast<size_t>(std::max<int64_t>(4, 2 * batch) * h_size));
    for (int64_t s = 0; s < seq; ++s) {
      if (dir.codes)
        rows_times_codes(dir.h, dir.codes, dir.column_scales, gh, hr.data(), batch, h_size, rec_n);
      else
        rows_times(dir.h, dir.rt, gh, hr.data(), batch, h_size, rec_n);
      if (split_h) {  // z and r first, then (r ⊙ H) · Rhᵀ
        for (int64_t b = 0; b < batch; ++b) {
          if (s >= lens[b]) continue;
          const float* g = xw.data() + (time(dir, s, lens[b]) * batch + b) * gh;
          const float* q = hr.data() + b * rec_n;
          float* zr = work.data() + b * 2 * h_size;  // z then r
          for (int64_t j = 0; j < 2 * h_size; ++j) zr[j] = g[j] + q[j];
          act[0].apply(zr, 2 * h_size, clip_);
          for (int64_t j = 0; j < h_size; ++j) rh[b * h_size + j] = zr[h_size + j] * dir.h[b * h_size + j];
        }
        rows_times(rh.data(), dir.rt + 2 * h_size, gh, rhr.data(), batch, h_size, h_size);
      }
      for (int64_t b = 0; b < batch; ++b) {
        if (s >= lens[b]) continue;
        const int64_t t = time(dir, s, lens[b]);
        const float* g = xw.data() + (t * batch + b) * gh;
        const float* q = hr.data() + b * rec_n;
        float* h = dir.h + b * h_size;
        if (cell_ == Cell::lstm) {
          lstm_step(act, g, q, dir.p, h_size, h, dir.c + b * h_size, work.data());
        } else if (cell_ == Cell::rnn) {
          for (int64_t j = 0; j < h_size; ++j) h[j] = g[j] + q[j];
          act[0].apply(h, h_size, clip_);
        } else {
          gru_step(act, g, q, split_h ? rhr.data() + b * h_size : nullptr, rbh.data(),
                   split_h ? work.data() + b * 2 * h_size : work.data(), h_size, h);
        }
        std::copy_n(h, h_size, y + ((t * dirs_ + dir.index) * batch + b) * h_size);
      }
    }
  }

  // Gates in ONNX order i, o, f, c; peepholes P in order i, o, f. `work` holds 4H values.
  void lstm_step(const ActivationFn* act, const float* g, const float* q, const float* p, int64_t h_size, float* h,
                 float* c, float* work) const {
    float *gi = work, *go = work + h_size, *gf = work + 2 * h_size, *gc = work + 3 * h_size;
    for (int64_t j = 0; j < 4 * h_size; ++j) work[j] = g[j] + q[j];
    if (p)
      for (int64_t j = 0; j < h_size; ++j) {
        gi[j] += p[j] * c[j];
        gf[j] += p[2 * h_size + j] * c[j];
      }
    act[0].apply(gi, h_size, clip_);
    if (input_forget_)
      for (int64_t j = 0; j < h_size; ++j) gf[j] = 1.0f - gi[j];
    else
      act[0].apply(gf, h_size, clip_);
    act[1].apply(gc, h_size, clip_);
    for (int64_t j = 0; j < h_size; ++j) c[j] = gf[j] * c[j] + gi[j] * gc[j];
    if (p)
      for (int64_t j = 0; j < h_size; ++j) go[j] += p[h_size + j] * c[j];
    act[0].apply(go, h_size, clip_);
    std::copy_n(c, h_size, gc);  // h(C) without clip: ONNX clips the gates' inputs only
    act[2].apply(gc, h_size, 0.0f);
    for (int64_t j = 0; j < h_size; ++j) h[j] = go[j] * gc[j];
  }

  // Gates in ONNX order z, r, h. With `rhr` ((r ⊙ H) · Rhᵀ, linear_before_reset 0) `work` already
  // holds z (and r); otherwise it gets z, r and the candidate (3H values).
  void gru_step(const ActivationFn* act, const float* g, const float* q, const float* rhr, const float* rbh,
                float* work, int64_t h_size, float* h) const {
    float *z = work, *r = work + h_size, *cand = work + 2 * h_size;
    if (rhr) {
      cand = r;  // r is spent: reuse its room
      for (int64_t j = 0; j < h_size; ++j) cand[j] = g[2 * h_size + j] + rhr[j];
    } else {
      for (int64_t j = 0; j < 2 * h_size; ++j) work[j] = g[j] + q[j];
      act[0].apply(work, 2 * h_size, clip_);
      for (int64_t j = 0; j < h_size; ++j) cand[j] = g[2 * h_size + j] + r[j] * (q[2 * h_size + j] + rbh[j]);
    }
    act[1].apply(cand, h_size, clip_);
    for (int64_t j = 0; j < h_size; ++j) h[j] = (1.0f - z[j]) * cand[j] + z[j] * h[j];
  }

  // The X row of step s: forward s, backward len - 1 - s (each row reversed within its own length).
  static int64_t time(const Direction& dir, int64_t s, int64_t len) { return dir.reverse ? len - 1 - s : s; }

  Cell cell_;
  int64_t gates_ = 1, dirs_ = 1, hidden_size_ = 0, layout_ = 0;
  bool reverse_ = false, input_forget_ = false, linear_before_reset_ = false, constant_weights_ = false;
  float clip_ = 0;
  std::vector<ActivationFn> acts_;  // per direction: f, g (, h)
  std::vector<float> biases_[2];    // per direction, alive as long as the kernels made with them
  std::vector<float> transposed_[2];  // Rᵀ per direction (kept while R is a constant)
  std::vector<float> column_scales_;  // `_recurrent_scales`: R's scale per direction and gate column
  std::vector<int8_t> codes_[2];      // or Rᵀ per direction as s8 codes (hold_codes)
  std::map<std::tuple<int, int64_t, const float*>, std::unique_ptr<DenseKernel>> kernels_;
  const Backend* cached_backend_ = nullptr;
};

}  // namespace

std::unique_ptr<Op> make_lstm(const Node& node, const Graph& graph) {
  return std::make_unique<Recurrent>(node, graph, Cell::lstm);
}
std::unique_ptr<Op> make_gru(const Node& node, const Graph& graph) {
  return std::make_unique<Recurrent>(node, graph, Cell::gru);
}
std::unique_ptr<Op> make_rnn(const Node& node, const Graph& graph) {
  return std::make_unique<Recurrent>(node, graph, Cell::rnn);
}

}  // namespace edgequant::engine
