// Plain float tensors recycled across runs: zeros_f32 draws from the pool only inside a Scope and
// for tensors of kMinFloats or more, hands out zeros even from a dirty vector, takes vectors back
// from any thread, trim() frees what the last run did not take, and a tensor outliving its pool is
// freed, not handed to a dead pool.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "graph/float_buffer_pool.h"
#include "graph/tensor.h"

using edgequant::engine::FloatBufferPool;
using edgequant::engine::Tensor;

namespace {
constexpr int64_t kLarge = static_cast<int64_t>(FloatBufferPool::kMinFloats);
}

TEST(FloatBufferPool, ZerosFromARecycledDirtyVector) {
  auto pool = std::make_shared<FloatBufferPool>();
  FloatBufferPool::Scope scope(*pool);
  Tensor a = Tensor::zeros_f32({kLarge * 2});
  const float* first = a.f();
  std::fill(a.f(), a.f() + a.numel(), 7.f);
  a = Tensor();
  EXPECT_EQ(pool->free_floats(), static_cast<size_t>(kLarge * 2));
  Tensor b = Tensor::zeros_f32({kLarge + 5});  // fits the released vector (not over twice its size)
  EXPECT_EQ(b.f(), first);
  EXPECT_TRUE(std::all_of(b.f(), b.f() + b.numel(), [](float v) { return v == 0.f; }));
  EXPECT_EQ(pool->free_floats(), 0u);
}

TEST(FloatBufferPool, OnlyInsideAScopeAndOnlyLargeTensors) {
  auto pool = std::make_shared<FloatBufferPool>();
  Tensor::zeros_f32({kLarge}) = Tensor();  // no scope: plain allocation
  EXPECT_EQ(pool->free_floats(), 0u);
  {
    FloatBufferPool::Scope scope(*pool);
    Tensor small = Tensor::zeros_f32({kLarge - 1});
    small = Tensor();
    EXPECT_EQ(pool->free_floats(), 0u);
    auto inner = std::make_shared<FloatBufferPool>();
    {
      FloatBufferPool::Scope nested(*inner);
      EXPECT_EQ(FloatBufferPool::current(), inner.get());
    }
    EXPECT_EQ(FloatBufferPool::current(), pool.get());
  }
  EXPECT_EQ(FloatBufferPool::current(), nullptr);
}

TEST(FloatBufferPool, TrimFreesWhatTheLastRunDidNotTake) {
  auto pool = std::make_shared<FloatBufferPool>();
  FloatBufferPool::Scope scope(*pool);
  Tensor::zeros_f32({kLarge}) = Tensor();  // "run 1"
  pool->trim();
  EXPECT_GT(pool->free_floats(), 0u);
  pool->trim();  // "run 2" took nothing
  EXPECT_EQ(pool->free_floats(), 0u);
}

TEST(FloatBufferPool, ReturnedFromAnotherThreadAndAfterThePoolIsGone) {
  auto pool = std::make_shared<FloatBufferPool>();
  Tensor kept, orphan;
  {
    FloatBufferPool::Scope scope(*pool);
    kept = Tensor::zeros_f32({kLarge});
    orphan = Tensor::zeros_f32({kLarge});
  }
  std::thread([&] { kept = Tensor(); }).join();
  EXPECT_EQ(pool->free_floats(), static_cast<size_t>(kLarge));
  pool.reset();
  orphan = Tensor();  // must not touch the destroyed pool (ASan would report it)
  SUCCEED();
}
