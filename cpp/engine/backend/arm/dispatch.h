// Run-time choice of the ARM backend's ISA-specific kernels, and what tests can see of it.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "backend/arm/int8_gemm.h"

namespace edgequant::engine::arm {

// The CPU has the ARMv8.2 dot-product instructions (getauxval(AT_HWCAP) & HWCAP_ASIMDDP), the
// ARMv8.6 int8 matrix multiply (getauxval(AT_HWCAP2) & HWCAP2_I8MM).
bool cpu_has_dotprod();
bool cpu_has_i8mm();
// The INT8 GEMMs this CPU can run, the fastest first: "i8mm", "asimddp", "neon" as present.
std::vector<const Int8Gemm*> int8_gemms();
// The INT8 GEMM new kernels use: the fastest the CPU runs, unless EDGEQUANT_ARM_DOTPROD=0 or
// set_arm_dotprod(false) forces the plain NEON one, or set_arm_int8_gemm names one.
const Int8Gemm& select_int8_gemm();
// false forces plain NEON for kernels built from now on; true restores the automatic choice.
void set_arm_dotprod(bool allowed);
// Kernels built from now on use the GEMM of that name (one of int8_gemms()); nullptr: automatic.
void set_arm_int8_gemm(const char* name);

// The backend's thread count as its kernels see it: set_threads after a kernel was built still
// applies to its next runs (0: all cores).
class ThreadCount {
 public:
  ThreadCount() : count_(std::make_shared<std::atomic<int>>(0)) {}
  operator int() const { return count_->load(); }
  void set(int threads) { count_->store(threads); }

 private:
  std::shared_ptr<std::atomic<int>> count_;
};

// Records one INT8 GEMM run of `gemm` (arm_int8_kernel_name / _runs), one FP32 conv run by
// Winograd with tiles of `tile` output pixels a side (arm_winograd_runs).
void note_int8_run(const Int8Gemm& gemm);
void note_winograd_run(int64_t tile);
void note_short_taps_run();

// Threads for a kernel run: body(begin, end) on disjoint chunks of [0, n), chunk boundaries
// multiples of `align`, one per thread (0: all cores); inline with one thread or one chunk.
// Plain std::thread per run, as common/parallel.h (no OpenMP runtime to hang forked workers).
void parallel_chunks(int threads, int64_t n, int64_t align, const std::function<void(int64_t, int64_t)>& body);

}  // namespace edgequant::engine::arm

namespace edgequant::engine {
// Name of the INT8 GEMM ("i8mm", "asimddp" or "neon") the ARM backend's last INT8 conv / dense ran, and
// how many INT8 GEMM runs each had since start: tests prove which kernel ran with these.
const char* arm_int8_kernel_name();
int64_t arm_int8_kernel_runs(const char* name);
// FP32 conv runs by Winograd since start (the others ran the direct kernel), and those of them by
// F(6x6, 3x3).
int64_t arm_winograd_runs();
int64_t arm_winograd63_runs();
// INT8 conv runs whose GEMM read short taps (Int8Gemm::pack_short_taps) since start.
int64_t arm_short_tap_runs();
}  // namespace edgequant::engine
