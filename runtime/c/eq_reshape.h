/* Reshape: the exporter aliases most reshapes to their input's arena slot; this copy serves the rest. */
#ifndef EQ_RESHAPE_H
#define EQ_RESHAPE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void eq_copy_s8(const int8_t *src, int32_t size, int8_t *dst);

#ifdef __cplusplus
}
#endif

#endif /* EQ_RESHAPE_H */
