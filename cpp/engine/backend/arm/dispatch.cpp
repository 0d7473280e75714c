#include "backend/arm/dispatch.h"

#include <sys/auxv.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <thread>
#include <vector>

#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)  // the Linux aarch64 hwcap bit, for older headers
#endif

namespace edgequant::engine::arm {
namespace {
std::atomic<bool> dotprod_allowed{true};
std::atomic<const char*> last_int8_kernel{"none"};
std::atomic<int64_t> neon_runs{0}, asimddp_runs{0};
}  // namespace

bool cpu_has_dotprod() { return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0; }

const Int8Gemm& select_int8_gemm() {
  const char* env = std::getenv("EDGEQUANT_ARM_DOTPROD");
  const bool forced_off = (env && std::strcmp(env, "0") == 0) || !dotprod_allowed.load();
  const Int8Gemm* dot = int8_gemm_asimddp();
  if (dot && !forced_off && cpu_has_dotprod()) return *dot;
  return int8_gemm_neon();
}

void set_arm_dotprod(bool allowed) { dotprod_allowed = allowed; }

void parallel_chunks(int threads, int64_t n, int64_t align, const std::function<void(int64_t, int64_t)>& body) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int64_t units = (n + align - 1) / align;
  const int64_t parts = std::min<int64_t>(threads, units);
  if (parts <= 1) {
    if (n > 0) body(0, n);
    return;
  }
  std::vector<std::thread> pool;
  std::vector<std::exception_ptr> errors(static_cast<size_t>(parts));
  for (int64_t p = 0; p < parts; ++p) {
    const int64_t begin = std::min(n, units * p / parts * align), end = std::min(n, units * (p + 1) / parts * align);
    auto run = [&, p, begin, end] {
      try {
        if (begin < end) body(begin, end);
      } catch (...) {
        errors[p] = std::current_exception();
      }
    };
    if (p + 1 == parts) run();
    else pool.emplace_back(run);
  }
  for (auto& t : pool) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

void note_int8_run(const Int8Gemm& gemm) {
  last_int8_kernel = gemm.name;
  (std::strcmp(gemm.name, "asimddp") == 0 ? asimddp_runs : neon_runs)++;
}

}  // namespace edgequant::engine::arm

namespace edgequant::engine {
const char* arm_int8_kernel_name() { return arm::last_int8_kernel.load(); }
int64_t arm_int8_kernel_runs(const char* name) {
  if (std::strcmp(name, "asimddp") == 0) return arm::asimddp_runs.load();
  if (std::strcmp(name, "neon") == 0) return arm::neon_runs.load();
  return 0;
}
}  // namespace edgequant::engine
