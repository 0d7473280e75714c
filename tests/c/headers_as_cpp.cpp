// runtime/c's headers included from C++ (what a C++ backend reusing the reference kernels does):
// they must compile as C++17 with warnings as errors and link against the C library (extern "C").
#include <cstdio>

#include "edgequant_runtime.h"
#include "eq_rans_decode.h"

int main() {
    const int8_t src[4] = {1, -2, 3, -4};
    int8_t dst[4] = {0, 0, 0, 0};
    eq_copy_s8(src, 4, dst);
    eq_rans_stream empty = {};
    const int decoded = eq_rans_decode_s8(&empty, dst);  // no blocks: nothing to decode
    const bool ok = dst[3] == -4 && decoded == 0 && eq_clamp_i32(300, -128, 127) == 127;
    std::printf("%s\n", ok ? "ok" : "FAIL");
    return ok ? 0 : 1;
}
