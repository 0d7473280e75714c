// Plain float32 tensors (Tensor::zeros_f32) recycled across the runs of one session. glibc gives
// large freed blocks back to the system (munmap, or a heap trim), so a model whose float ops make
// tens of megabytes of plain tensors per run paid a page fault per 4 KiB on every run (PP-OCRv6's
// tiny detector: 2,500 per run). While a run holds a Scope, zeros_f32 takes vectors of at least
// kMinFloats from the session's pool; a vector returns to it when its last tensor is released
// (from any thread: outputs die in Python), and trim() after each run frees the ones that run did
// not take again. backend/buffer_pool.h does the same for the backends' own activation memory.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace edgequant::engine {

class FloatBufferPool : public std::enable_shared_from_this<FloatBufferPool> {
 public:
  static constexpr size_t kMinFloats = 16384;  // 64 KiB: smaller blocks stay in malloc's heap anyway

  // `n` zeros, in a recycled vector when one of capacity n .. 2n is free.
  std::shared_ptr<std::vector<float>> zeros(size_t n) { return take(n, true); }
  // `n` floats whose values are unspecified (a recycled vector's earlier ones, not cleared): for a
  // tensor its op writes in full.
  std::shared_ptr<std::vector<float>> unspecified(size_t n) { return take(n, false); }
  // Frees the vectors nobody took since the previous trim().
  void trim();
  size_t free_floats() const;

  // The pool zeros_f32 draws from on this thread while the scope lives (scopes nest: an If branch's
  // engine runs inside its parent's run).
  class Scope {
   public:
    explicit Scope(FloatBufferPool& pool);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    FloatBufferPool* previous_;
  };
  static FloatBufferPool* current();

 private:
  struct Free {
    std::unique_ptr<std::vector<float>> vector;
    uint64_t last_used;
  };
  std::shared_ptr<std::vector<float>> take(size_t n, bool zeroed);
  void give_back(std::vector<float>* vector);

  mutable std::mutex mutex_;
  std::vector<Free> free_;  // sorted by capacity
  size_t free_floats_ = 0;
  uint64_t epoch_ = 0;
};

}  // namespace edgequant::engine
