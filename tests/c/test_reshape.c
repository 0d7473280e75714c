/* eq_copy_s8 (Reshape) against the formula dst[i] = src[i]: sizes 0, 1, odd and large, the copy onto
 * itself (a reshape planned in place), and nothing written past size. */
#include <string.h>

#include "eq_test.h"

#define MAX_SIZE 4096

int main(void) {
    static int8_t src[MAX_SIZE], got[MAX_SIZE + 16], want[MAX_SIZE + 16];
    int c;
    for (c = 0; c < 300; ++c) {
        const int32_t size = c == 0 ? 0 : c == 1 ? 1 : c == 2 ? MAX_SIZE : eq_test_random_in(1, 999);
        eq_test_fill_s8(src, size, c % 7 == 0);
        memset(got, EQ_TEST_SENTINEL, sizeof(got));
        memset(want, EQ_TEST_SENTINEL, sizeof(want));
        memcpy(want, src, (size_t)size);
        if (c % 5 == 4) { /* in place: a no-op */
            memcpy(got, src, (size_t)size);
            eq_copy_s8(got, size, got);
        } else {
            eq_copy_s8(src, size, got);
        }
        eq_test_expect_s8("reshape", c, got, want, size + 16);
    }
    return eq_test_finish();
}
