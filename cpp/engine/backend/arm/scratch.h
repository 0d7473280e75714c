// Per-run working memory of the ARM kernels, left uninitialised: a std::vector would zero it first,
// a memset of every byte a run stages (measured ~5-7 % of an emulated inference's instructions).
// Only for buffers the kernel writes in full before reading.
//
// Blocks of 1 KiB and more come from a small per-thread cache of freed blocks (scratch_pool.cpp),
// by power-of-two size class: a run allocates the same buffers as the run before it (each conv's
// output codes, row pointers, frames, packed rows), and glibc's malloc / free of blocks past its
// per-thread cache (1 KiB) took ~180 instructions a pair — 3-4 % of a small model's inference on an
// emulated Cortex-A76 (MLPerf Tiny ResNet-8: ~50 K of 1.54 M).
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

namespace edgequant::engine::arm {

// A block of at least `bytes` (rounded up to its size class), and its return; thread-safe (each
// thread keeps its own cache; a block may be returned on another thread than the one it came from).
void* take_scratch_block(size_t bytes);
void give_scratch_block(void* block, size_t bytes);

template <class T>
class Scratch {
  static_assert(std::is_trivially_default_constructible_v<T> && std::is_trivially_destructible_v<T>,
                "Scratch holds plain values, left uninitialised");

 public:
  Scratch() = default;
  explicit Scratch(int64_t n)
      : data_(n > 0 ? static_cast<T*>(take_scratch_block(static_cast<size_t>(n) * sizeof(T))) : nullptr),
        bytes_(n > 0 ? static_cast<size_t>(n) * sizeof(T) : 0) {}
  Scratch(Scratch&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
  Scratch& operator=(Scratch&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr), bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() { release(); }

  T* data() { return data_; }
  const T* data() const { return data_; }
  T& operator[](int64_t i) { return data_[i]; }
  const T& operator[](int64_t i) const { return data_[i]; }

 private:
  void release() {
    if (data_) give_scratch_block(data_, bytes_);
    data_ = nullptr, bytes_ = 0;
  }
  T* data_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace edgequant::engine::arm
