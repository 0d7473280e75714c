// Splitting a long loop across the machine's cores. Plain std::thread on purpose: OpenMP's
// runtime (libgomp) hangs in a child forked after the parent used it, and sweeps fork workers.
#pragma once
#include <cstdint>
#include <functional>

namespace edgequant {

// Number of threads parallel_for uses: EDGEQUANT_NUM_THREADS if set, else the hardware's.
int max_threads();
void set_max_threads(int threads);  // 0 restores the default

// Calls body(begin, end) on disjoint chunks covering [0, n). Runs inline when n < min_chunk
// or one thread is allowed; chunk boundaries are multiples of `align` (keeps SIMD tails at the
// end). Exceptions from any chunk are rethrown in the caller.
void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& body,
                  int64_t min_chunk = 1 << 16, int64_t align = 64);

}  // namespace edgequant
