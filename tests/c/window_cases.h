/* The edge cases the convolution tests add to random windows, by case number: 1x1 filters, a 1x1
 * image, zero points at both int8 limits, saturating activation ranges. */
#ifndef WINDOW_CASES_H
#define WINDOW_CASES_H

#include "eq_test.h"

void window_edge_case(eq_window_params *p, int case_id);

#endif /* WINDOW_CASES_H */
