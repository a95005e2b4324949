/* ARG_MAX over one axis of an int8 tensor: the first index of the largest value (TFLite's
 * strict greater-than comparison), written as int32 or int64. */
#include "fe_internal.h"

void fe_arg_max(const fe_arg_max_params *p, const int8_t *input, void *output) {
  int32_t o;
  int32_t i;
  int32_t k;
  for (o = 0; o < p->outer; ++o) {
    for (i = 0; i < p->inner; ++i) {
      const int8_t *base = input + o * p->axis_size * p->inner + i;
      int32_t best = 0;
      for (k = 1; k < p->axis_size; ++k) {
        if (base[k * p->inner] > base[best * p->inner]) {
          best = k;
        }
      }
      if (p->out_int64) {
        ((int64_t *)output)[o * p->inner + i] = best;
      } else {
        ((int32_t *)output)[o * p->inner + i] = best;
      }
    }
  }
}
