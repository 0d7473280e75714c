/* Random pooling windows the exporter accepts (no window covers only padding; see
 * python/edgequant/microcontroller/kernels/_window.py check_pool), with 1x1, whole-image and
 * saturating cases by case number. */
#ifndef POOL_CASES_H
#define POOL_CASES_H

#include "eq_test.h"

void random_pool_window(eq_window_params *p, int case_id);

#endif /* POOL_CASES_H */
