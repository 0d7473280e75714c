// Per-run working memory of the ARM kernels, left uninitialised: a std::vector would zero it first,
// a memset of every byte a run stages (measured ~5-7 % of an emulated inference's instructions).
// Only for buffers the kernel writes in full before reading.
#pragma once
#include <cstdint>
#include <memory>

namespace edgequant::engine::arm {

template <class T>
class Scratch {
 public:
  Scratch() = default;
  explicit Scratch(int64_t n) : data_(n > 0 ? new T[static_cast<size_t>(n)] : nullptr) {}
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  T& operator[](int64_t i) { return data_[static_cast<size_t>(i)]; }
  const T& operator[](int64_t i) const { return data_[static_cast<size_t>(i)]; }

 private:
  std::unique_ptr<T[]> data_;
};

}  // namespace edgequant::engine::arm
