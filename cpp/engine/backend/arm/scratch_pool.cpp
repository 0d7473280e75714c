// The per-thread cache of freed Scratch blocks (scratch.h): by power-of-two size class from 1 KiB,
// a few blocks per class and at most kKeptBytes in all per thread; everything else goes to and from
// operator new.
#include <array>
#include <new>

#include "backend/arm/scratch.h"

namespace edgequant::engine::arm {
namespace {

constexpr size_t kSmallest = 1024;            // below: operator new (glibc's own per-thread cache serves those)
constexpr int kClasses = 24;                  // blocks of 1 KiB .. 8 GiB
constexpr int kKeptPerClass = 4;              // a run's buffers of one class alive at once, about
constexpr size_t kKeptBytes = size_t{64} << 20;  // per thread

// The class of a block of `bytes` ≥ kSmallest (its size kSmallest << class), or kClasses past the last.
int size_class(size_t bytes) {
  int c = 0;
  for (size_t size = kSmallest; size < bytes && c < kClasses; size <<= 1) ++c;
  return c;
}

struct Cache {
  std::array<std::array<void*, kKeptPerClass>, kClasses> blocks{};
  std::array<int, kClasses> count{};
  size_t kept = 0;
  ~Cache();
};

// Set when this thread's cache is gone (thread exit): a Scratch freed after that (a static object's)
// goes straight to operator delete. Trivially destructible, so readable to the end.
thread_local bool cache_gone = false;
thread_local Cache cache;

Cache::~Cache() {
  cache_gone = true;
  for (int c = 0; c < kClasses; ++c)
    for (int k = 0; k < count[c]; ++k) ::operator delete(blocks[c][k]);
}

}  // namespace

void* take_scratch_block(size_t bytes) {
  const int c = bytes < kSmallest ? kClasses : size_class(bytes);
  if (c == kClasses) return ::operator new(bytes);
  if (!cache_gone && cache.count[c] > 0) {
    cache.kept -= kSmallest << c;
    return cache.blocks[c][--cache.count[c]];
  }
  return ::operator new(kSmallest << c);
}

void give_scratch_block(void* block, size_t bytes) {
  const int c = bytes < kSmallest ? kClasses : size_class(bytes);
  const size_t size = c == kClasses ? bytes : kSmallest << c;
  if (c == kClasses || cache_gone || cache.count[c] == kKeptPerClass || cache.kept + size > kKeptBytes) {
    ::operator delete(block);
    return;
  }
  cache.kept += size;
  cache.blocks[c][cache.count[c]++] = block;
}

}  // namespace edgequant::engine::arm
