/* MUL int8 with broadcast, as TFLite's reference integer kernel. */
#include "fe_internal.h"

void fe_mul(const fe_mul_params *p, const int8_t *in1, const int8_t *in2, int8_t *output) {
  FE_BCAST_LOOP(&p->shape, {
    const int32_t raw = ((int32_t)in1[i1_] + p->input1_offset) *
                        ((int32_t)in2[i2_] + p->input2_offset);
    const int32_t out = fe_mbqm(raw, p->output_multiplier, p->output_shift) + p->output_offset;
    output[o_] = (int8_t)fe_clamp(out, p->act_min, p->act_max);
  });
}
