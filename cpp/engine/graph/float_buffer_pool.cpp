#include "graph/float_buffer_pool.h"

#include <algorithm>

namespace edgequant::engine {

namespace {
thread_local FloatBufferPool* current_pool = nullptr;
}

FloatBufferPool::Scope::Scope(FloatBufferPool& pool) : previous_(current_pool) { current_pool = &pool; }
FloatBufferPool::Scope::~Scope() { current_pool = previous_; }
FloatBufferPool* FloatBufferPool::current() { return current_pool; }

std::shared_ptr<std::vector<float>> FloatBufferPool::take(size_t n, bool zeroed) {
  std::unique_ptr<std::vector<float>> vector;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = std::lower_bound(free_.begin(), free_.end(), n,
                               [](const Free& f, size_t wanted) { return f.vector->capacity() < wanted; });
    if (it != free_.end() && it->vector->capacity() <= 2 * n) {  // not a large block under a small tensor
      vector = std::move(it->vector);
      free_floats_ -= vector->capacity();
      free_.erase(it);
    }
  }
  if (vector && zeroed) vector->assign(n, 0.f);  // within its capacity: the pages are already mapped
  else if (vector) vector->resize(n);              // clears only floats past its earlier size
  else vector = std::make_unique<std::vector<float>>(n);
  std::weak_ptr<FloatBufferPool> pool = weak_from_this();
  return std::shared_ptr<std::vector<float>>(vector.release(), [pool](std::vector<float>* v) {
    if (auto owner = pool.lock()) owner->give_back(v);
    else delete v;
  });
}

void FloatBufferPool::give_back(std::vector<float>* vector) {
  std::unique_ptr<std::vector<float>> owned(vector);
  std::lock_guard<std::mutex> lock(mutex_);
  const size_t capacity = owned->capacity();
  auto at = std::upper_bound(free_.begin(), free_.end(), capacity,
                             [](size_t wanted, const Free& f) { return wanted < f.vector->capacity(); });
  free_.insert(at, Free{std::move(owned), epoch_});
  free_floats_ += capacity;
}

void FloatBufferPool::trim() {
  std::vector<std::unique_ptr<std::vector<float>>> stale;  // freed outside the lock
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto keep = std::stable_partition(free_.begin(), free_.end(), [&](const Free& f) { return f.last_used >= epoch_; });
    for (auto it = keep; it != free_.end(); ++it) {
      free_floats_ -= it->vector->capacity();
      stale.push_back(std::move(it->vector));
    }
    free_.erase(keep, free_.end());
    ++epoch_;
  }
}

size_t FloatBufferPool::free_floats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return free_floats_;
}

}  // namespace edgequant::engine
