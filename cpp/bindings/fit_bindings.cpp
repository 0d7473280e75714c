// Placeholder: filled in by the fit work.
#include "bindings/buffers.h"
namespace edgequant::bindings {
void register_fit(py::module_&) {}
}  // namespace edgequant::bindings
