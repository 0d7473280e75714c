#include "quant/midtread.h"
namespace edgequant::quant {
EDGEQUANT_DEFINE_CHUNK_KERNELS(Midtread)
}
