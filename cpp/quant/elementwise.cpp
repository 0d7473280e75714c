#include "quant/elementwise.h"

namespace edgequant::quant {
namespace {
std::atomic<bool> g_force_reference{false};
}
bool force_reference() { return g_force_reference.load(std::memory_order_relaxed); }
void set_force_reference(bool on) { g_force_reference.store(on); }
}  // namespace edgequant::quant
