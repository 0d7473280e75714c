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
  for (Block& block : free_) std::free(block.data);
}

std::shared_ptr<void> BufferPool::acquire(size_t bytes) {
  const size_t capacity = (std::max<size_t>(bytes, 1) + kGranule - 1) / kGranule * kGranule;
  void* data = nullptr;
  size_t size = capacity;
  // The smallest free block that fits, unless it is more than twice the request (it would pin
  // a large block under a small tensor).
  auto it = std::lower_bound(free_.begin(), free_.end(), capacity,
                             [](const Block& block, size_t wanted) { return block.capacity < wanted; });
  if (it != free_.end() && it->capacity <= 2 * capacity) {
    data = it->data;
    size = it->capacity;
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
  auto at = std::upper_bound(free_.begin(), free_.end(), size,
                             [](size_t wanted, const Block& block) { return wanted < block.capacity; });
  free_.insert(at, Block{size, data, epoch_});
  free_bytes_ += size;
}

void BufferPool::trim() {
  bool freed = false;
  auto stale = std::remove_if(free_.begin(), free_.end(), [&](const Block& block) {
    if (block.last_used >= epoch_) return false;
    std::free(block.data);
    free_bytes_ -= block.capacity;
    freed = true;
    return true;
  });
  free_.erase(stale, free_.end());
  ++epoch_;
#if defined(__GLIBC__)
  // glibc keeps freed blocks below its (self-raising) mmap threshold in the heap: give the pages back.
  if (freed) malloc_trim(0);
#endif
}

}  // namespace edgequant::engine
