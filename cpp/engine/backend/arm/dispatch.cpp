#include "backend/arm/dispatch.h"

#include <sys/auxv.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <thread>
#include <vector>

#include "backend/winograd_f63.h"

#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)  // the Linux aarch64 hwcap bits, for older headers
#endif
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1 << 13)
#endif

namespace edgequant::engine::arm {
namespace {
std::atomic<bool> dotprod_allowed{true};
std::atomic<const char*> forced_gemm{nullptr};
std::atomic<const char*> last_int8_kernel{"none"};
std::atomic<int64_t> neon_runs{0}, asimddp_runs{0}, i8mm_runs{0}, winograd_runs{0}, winograd63_runs{0}, short_tap_runs{0};
}  // namespace

bool cpu_has_dotprod() { return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0; }
bool cpu_has_i8mm() { return (getauxval(AT_HWCAP2) & HWCAP2_I8MM) != 0; }

std::vector<const Int8Gemm*> int8_gemms() {
  std::vector<const Int8Gemm*> gemms;
  if (cpu_has_i8mm()) gemms.push_back(int8_gemm_i8mm());
  if (cpu_has_dotprod()) gemms.push_back(int8_gemm_asimddp());
  gemms.push_back(&int8_gemm_neon());
  return gemms;
}

const Int8Gemm& select_int8_gemm() {
  const char* env = std::getenv("EDGEQUANT_ARM_DOTPROD");
  const bool forced_off = (env && std::strcmp(env, "0") == 0) || !dotprod_allowed.load();
  const std::vector<const Int8Gemm*> gemms = int8_gemms();
  if (const char* name = forced_gemm.load())
    for (const Int8Gemm* g : gemms)
      if (std::strcmp(g->name, name) == 0) return *g;
  return forced_off ? int8_gemm_neon() : *gemms.front();
}

void set_arm_dotprod(bool allowed) { dotprod_allowed = allowed; }
void set_arm_int8_gemm(const char* name) { forced_gemm = name; }

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
  (std::strcmp(gemm.name, "i8mm") == 0 ? i8mm_runs : std::strcmp(gemm.name, "asimddp") == 0 ? asimddp_runs : neon_runs)++;
}

void note_winograd_run(int64_t tile) {
  winograd_runs++;
  if (tile == winograd::f63::kTile) winograd63_runs++;
}
void note_short_taps_run() { short_tap_runs++; }

}  // namespace edgequant::engine::arm

namespace edgequant::engine {
int64_t arm_winograd_runs() { return arm::winograd_runs.load(); }
int64_t arm_winograd63_runs() { return arm::winograd63_runs.load(); }
int64_t arm_short_tap_runs() { return arm::short_tap_runs.load(); }
const char* arm_int8_kernel_name() { return arm::last_int8_kernel.load(); }
int64_t arm_int8_kernel_runs(const char* name) {
  if (std::strcmp(name, "i8mm") == 0) return arm::i8mm_runs.load();
  if (std::strcmp(name, "asimddp") == 0) return arm::asimddp_runs.load();
  if (std::strcmp(name, "neon") == 0) return arm::neon_runs.load();
  return 0;
}
}  // namespace edgequant::engine
