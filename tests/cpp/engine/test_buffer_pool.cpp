// The activation pool: blocks are 64-byte aligned, come back when released and serve the next
// request that fits (not one more than twice smaller), trim() frees what a run did not use, and a
// block released after its pool is gone is freed, not handed to a dead pool.
#include <gtest/gtest.h>

#include <cstdint>

#include "backend/buffer_pool.h"

using edgequant::engine::BufferPool;

TEST(BufferPool, AlignedAndReusedWhenReleased) {
  auto pool = std::make_shared<BufferPool>();
  auto a = pool->acquire(10000);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.get()) % 64, 0u);
  void* first = a.get();
  a.reset();
  EXPECT_GT(pool->free_bytes(), 10000u);
  auto b = pool->acquire(9000);  // fits in the released block
  EXPECT_EQ(b.get(), first);
  EXPECT_EQ(pool->free_bytes(), 0u);
  auto c = pool->acquire(9000);  // the block is taken: a new one
  EXPECT_NE(c.get(), first);
}

TEST(BufferPool, SmallRequestsDoNotPinLargeBlocks) {
  auto pool = std::make_shared<BufferPool>();
  void* large = pool->acquire(1 << 20).get();  // released at once
  auto small = pool->acquire(4096);
  EXPECT_NE(small.get(), large);
  EXPECT_GE(pool->free_bytes(), size_t{1} << 20);
}

TEST(BufferPool, TrimFreesBlocksTheLastRunDidNotUse) {
  auto pool = std::make_shared<BufferPool>();
  pool->acquire(8192).reset();  // used and released in "run 1"
  pool->trim();                 // end of run 1: the block was used, it stays
  EXPECT_GT(pool->free_bytes(), 0u);
  pool->trim();                 // end of run 2, which did not use it
  EXPECT_EQ(pool->free_bytes(), 0u);
}

TEST(BufferPool, BlocksOutlivingThePoolAreFreed) {
  auto pool = std::make_shared<BufferPool>();
  auto block = pool->acquire(4096);
  pool.reset();
  block.reset();  // must not touch the destroyed pool (ASan would report it)
  SUCCEED();
}

TEST(BufferPool, SmallestFittingBlockAmongMany) {
  auto pool = std::make_shared<BufferPool>();
  auto small = pool->acquire(8192), large = pool->acquire(16384), middle = pool->acquire(12288);
  void* const small_data = small.get();
  void* const large_data = large.get();
  void* const middle_data = middle.get();
  large.reset();  // handed back out of size order
  small.reset();
  middle.reset();
  EXPECT_EQ(pool->acquire(12000).get(), middle_data);
  auto again_small = pool->acquire(8000);
  EXPECT_EQ(again_small.get(), small_data);
  EXPECT_EQ(pool->acquire(16000).get(), large_data);
}
