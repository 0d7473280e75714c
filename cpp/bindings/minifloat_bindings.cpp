// Placeholder: filled in by the minifloat work.
#include "bindings/buffers.h"
namespace edgequant::bindings {
void register_minifloat(py::module_&) {}
}  // namespace edgequant::bindings
