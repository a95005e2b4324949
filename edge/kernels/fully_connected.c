/* FULLY_CONNECTED int8 (per-tensor or per-channel weights), as TFLite's reference kernel. */
#include "fe_internal.h"

void fe_fully_connected(const fe_fc_params *p, const int8_t *input, const int8_t *weights,
                        const int32_t *bias, int8_t *output) {
  int32_t b;
  int32_t o;
  for (b = 0; b < p->batches; ++b) {
    const int8_t *row = input + b * p->accum_depth;
    for (o = 0; o < p->output_depth; ++o) {
      const int32_t ch = p->per_channel ? o : 0;
      int32_t acc = fe_dot_s8(row, weights + o * p->accum_depth, p->accum_depth,
                              p->input_offset, p->filter_offset);
      if (bias != NULL) {
        acc += bias[o];
      }
      acc = fe_mbqm(acc, p->multiplier[ch], p->shift[ch]) + p->output_offset;
      output[b * p->output_depth + o] = (int8_t)fe_clamp(acc, p->act_min, p->act_max);
    }
  }
}
