/* MAXIMUM / MINIMUM int8 with broadcast, as TFLite Micro: the raw values are compared (the
 * converter gives inputs and output one quantization), no requantization. */
#include "fe_internal.h"

void fe_maximum(const fe_bcast *s, const int8_t *in1, const int8_t *in2, int8_t *output) {
  FE_BCAST_LOOP(s, { output[o_] = in1[i1_] > in2[i2_] ? in1[i1_] : in2[i2_]; });
}

void fe_minimum(const fe_bcast *s, const int8_t *in1, const int8_t *in2, int8_t *output) {
  FE_BCAST_LOOP(s, { output[o_] = in1[i1_] < in2[i2_] ? in1[i1_] : in2[i2_]; });
}
