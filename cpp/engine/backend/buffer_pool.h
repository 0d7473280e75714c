// Activation memory shared by one backend's kernels. A block returns to the pool when the last
// tensor using it is released and serves the next request of a fitting size, so a session holds
// about its peak of simultaneously live activations instead of one buffer per layer. Blocks not
// used during the last run are freed by trim() (a new input shape leaves no stale blocks behind).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace edgequant::engine {

class BufferPool : public std::enable_shared_from_this<BufferPool> {
 public:
  ~BufferPool();
  // `bytes` of 64-byte aligned memory; the pointer's deleter hands the block back to this pool.
  std::shared_ptr<void> acquire(size_t bytes);
  // Frees the blocks nobody acquired since the previous trim().
  void trim();
  size_t free_bytes() const { return free_bytes_; }

 private:
  struct Block {
    size_t capacity;
    void* data;
    uint64_t last_used;
  };
  void give_back(void* data, size_t size);

  // Sorted by capacity. A vector, not a multimap: a run hands blocks back and takes them again
  // without allocating (a session holds tens of blocks, so inserting in the middle is cheap).
  std::vector<Block> free_;
  size_t free_bytes_ = 0;
  uint64_t epoch_ = 0;
};

}  // namespace edgequant::engine
