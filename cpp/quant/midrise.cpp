#include "quant/midrise.h"
namespace edgequant::quant {
EDGEQUANT_DEFINE_CHUNK_KERNELS(Midrise)
}
