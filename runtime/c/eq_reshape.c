#include "eq_reshape.h"

void eq_copy_s8(const int8_t *src, int32_t size, int8_t *dst) {
    int32_t i;
    if (src == dst) {
        return;
    }
    for (i = 0; i < size; ++i) {
        dst[i] = src[i];
    }
}
