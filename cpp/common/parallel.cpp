#include "common/parallel.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace edgequant {
namespace {
std::atomic<int> g_threads{0};

int default_threads() {
  if (const char* env = std::getenv("EDGEQUANT_NUM_THREADS")) {
    int value = std::atoi(env);
    if (value > 0) return value;
  }
  // Asked once: glibc reads /sys/devices/system/cpu/online on every call (an open, a read and a
  // close: ~8 us of CPU per parallel_for, which dominated calls on small tensors).
  static const int hardware = [] {
    unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1 : static_cast<int>(hw);
  }();
  return hardware;
}
}  // namespace

int max_threads() {
  int value = g_threads.load();
  return value > 0 ? value : default_threads();
}

void set_max_threads(int threads) { g_threads.store(threads < 0 ? 0 : threads); }

void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& body, int64_t min_chunk,
                  int64_t align) {
  if (n <= 0) return;
  int64_t threads = std::min<int64_t>(max_threads(), std::max<int64_t>(1, n / std::max<int64_t>(1, min_chunk)));
  if (threads <= 1) {
    body(0, n);
    return;
  }
  int64_t chunk = (n + threads - 1) / threads;
  chunk = (chunk + align - 1) / align * align;
  std::vector<std::thread> workers;
  std::exception_ptr error;
  std::mutex error_mutex;
  auto run = [&](int64_t begin, int64_t end) {
    try {
      body(begin, end);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  };
  for (int64_t begin = chunk; begin < n; begin += chunk) {
    workers.emplace_back(run, begin, std::min(n, begin + chunk));
  }
  run(0, std::min(n, chunk));  // the calling thread takes the first chunk
  for (auto& worker : workers) worker.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace edgequant
