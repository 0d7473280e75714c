// graph/padding.h: SAME padding against the definition (windows cover the input; the odd pad at
// the end for SAME_UPPER / TFLite's SAME, at the beginning for SAME_LOWER).
#include <gtest/gtest.h>

#include "common/error.h"
#include "engine/graph/padding.h"

using namespace edgequant;
using namespace edgequant::engine;

TEST(Padding, SameCoversTheInputExactly) {
  for (int64_t in = 1; in <= 40; ++in)
    for (int64_t k = 1; k <= 7; ++k)
      for (int64_t s = 1; s <= 4; ++s)
        for (int64_t d = 1; d <= 3; ++d) {
          const int64_t out = same_output_size(in, s);
          EXPECT_EQ(out * s >= in && (out - 1) * s < in, true);
          const Padding upper = same_padding(in, out, k, s, d, true), lower = same_padding(in, out, k, s, d, false);
          const int64_t total = upper.begin + upper.end, effective = (k - 1) * d + 1;
          // the last window ends exactly at the padded end (or the input needs no padding)
          if (total > 0) EXPECT_EQ((out - 1) * s + effective, in + total);
          else EXPECT_LE((out - 1) * s + effective, in);
          EXPECT_TRUE(upper.end == upper.begin || upper.end == upper.begin + 1);
          EXPECT_EQ(lower.begin, upper.end);
          EXPECT_EQ(lower.end, upper.begin);
        }
}

TEST(Padding, KnownValuesAndRefusals) {
  // 3x3, stride 2 over 224: out 112, total 1 -> (0, 1) upper, (1, 0) lower
  EXPECT_EQ(same_padding(224, 112, 3, 2, 1).begin, 0);
  EXPECT_EQ(same_padding(224, 112, 3, 2, 1).end, 1);
  EXPECT_EQ(same_padding(224, 112, 3, 2, 1, false).begin, 1);
  EXPECT_EQ(same_padding(5, 5, 3, 1, 2).begin, 2);  // dilation 2: effective kernel 5
  EXPECT_EQ(same_padding(4, 1, 1, 4, 1).begin, 0);  // windows inside the input: no padding
  EXPECT_THROW(same_output_size(4, 0), InvalidArgument);
  EXPECT_THROW(same_padding(4, 4, 0, 1, 1), InvalidArgument);
  EXPECT_THROW(same_padding(4, 4, 3, 1, 0), InvalidArgument);
}
