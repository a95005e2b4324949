/* GATHER along one axis (batch_dims 0) of any element type, with int32 indices. */
#include <string.h>

#include "fe_internal.h"

int fe_gather(const fe_gather_params *p, const void *params, const int32_t *indices,
              void *output) {
  const uint8_t *src = (const uint8_t *)params;
  uint8_t *dst = (uint8_t *)output;
  int32_t o;
  int32_t i;
  for (o = 0; o < p->outer; ++o) {
    for (i = 0; i < p->n_indices; ++i) {
      const int32_t idx = indices[i];
      if (idx < 0 || idx >= p->axis_size) {
        return -1;
      }
      memcpy(dst + (o * p->n_indices + i) * p->inner_bytes,
             src + (o * p->axis_size + idx) * p->inner_bytes, (size_t)p->inner_bytes);
    }
  }
  return 0;
}
