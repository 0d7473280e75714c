// Placeholder: filled in by the coding work.
#include "bindings/buffers.h"
namespace edgequant::bindings {
void register_coding(py::module_&) {}
}  // namespace edgequant::bindings
