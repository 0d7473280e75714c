#include "backend/buffer_pool.h"

#include <algorithm>
#include <cstdlib>
#include <new>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace edgequant::engine {

namespace {
constexpr size_t kAlignment = 64, kGranule = 4096;
}

BufferPool::~BufferPool() {
  for (auto& kv : free_) std::free(kv.second.data);
}

std::shared_ptr<void> BufferPool::acquire(size_t bytes) {
  const size_t capacity = (std::max<size_t>(bytes, 1) + kGranule - 1) / kGranule * kGranule;
  void* data = nullptr;
  size_t size = capacity;
  // The smallest free block that fits, unless it is more than twice the request (it would pin
  // a large block under a small tensor).
  auto it = free_.lower_bound(capacity);
  if (it != free_.end() && it->first <= 2 * capacity) {
    data = it->second.data;
    size = it->first;
    free_bytes_ -= size;
    free_.erase(it);
  } else {
    data = std::aligned_alloc(kAlignment, capacity);
    if (!data) throw std::bad_alloc();
  }
  std::weak_ptr<BufferPool> pool = weak_from_this();
  return std::shared_ptr<void>(data, [pool, size](void* p) {
    if (auto owner = pool.lock()) owner->give_back(p, size);
    else std::free(p);
  });
}

void BufferPool::give_back(void* data, size_t size) {
  free_.emplace(size, Block{data, epoch_});
  free_bytes_ += size;
}

void BufferPool::trim() {
  bool freed = false;
  for (auto it = free_.begin(); it != free_.end();) {
    if (it->second.last_used < epoch_) {
      std::free(it->second.data);
      free_bytes_ -= it->first;
      it = free_.erase(it);
      freed = true;
    } else {
      ++it;
    }
  }
  ++epoch_;
#if defined(__GLIBC__)
  // glibc keeps freed blocks below its (self-raising) mmap threshold in the heap: give the pages back.
  if (freed) malloc_trim(0);
#endif
}

}  // namespace edgequant::engine
