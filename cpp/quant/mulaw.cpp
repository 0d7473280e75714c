#include "quant/mulaw.h"
namespace edgequant::quant {
EDGEQUANT_DEFINE_CHUNK_KERNELS(MuLaw)
}
