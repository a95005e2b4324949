/* SQUARED_DIFFERENCE int8 with broadcast, as TFLite's reference kernel (left shift 7). */
#include "fe_internal.h"

void fe_squared_difference(const fe_sqdiff_params *p, const int8_t *in1, const int8_t *in2,
                           int8_t *output) {
  FE_BCAST_LOOP(&p->shape, {
    const int32_t v1 = ((int32_t)in1[i1_] + p->input1_offset) * ((int32_t)1 << p->left_shift);
    const int32_t v2 = ((int32_t)in2[i2_] + p->input2_offset) * ((int32_t)1 << p->left_shift);
    const int32_t s1 = fe_mbqm(v1, p->input1_multiplier, p->input1_shift);
    const int32_t s2 = fe_mbqm(v2, p->input2_multiplier, p->input2_shift);
    const int32_t diff = s1 - s2;
    const int32_t out =
        fe_mbqm(diff * diff, p->output_multiplier, p->output_shift) + p->output_offset;
    output[o_] = (int8_t)fe_clamp(out, -128, 127);
  });
}
