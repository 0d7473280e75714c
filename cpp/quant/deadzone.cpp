#include "quant/deadzone.h"
namespace edgequant::quant {
EDGEQUANT_DEFINE_CHUNK_KERNELS(Deadzone)
}
