/* FULLY_CONNECTED int8 (per-tensor or per-channel weights), as TFLite's reference kernel.
 * Output features four at a time (fe_dot4_s8: each input element widened once for 4 weight
 * rows). The code generator usually folds the input offset into the bias
 * (bias' = bias + input_offset * sum_k w[o][k], exact in int32) and passes input_offset 0. */
#include "fe_dot.h"
#include "fe_internal.h"

FE_INLINE int8_t fc_requant(const fe_fc_params *p, int32_t acc, int32_t o) {
  const int32_t ch = p->per_channel ? o : 0;
  acc = fe_mbqm(acc, p->multiplier[ch], p->shift[ch]) + p->output_offset;
  return (int8_t)fe_clamp(acc, p->act_min, p->act_max);
}

static void fc_row(const fe_fc_params *p, const int8_t *row, const int8_t *weights,
                   const int32_t *bias, int8_t *out) {
  const int32_t n = p->accum_depth;
  int32_t o = 0;
  for (; o + 4 <= p->output_depth; o += 4) {
    int32_t acc[4] = {0, 0, 0, 0};
    int32_t r;
    fe_dot4_s8(row, weights + o * n, n, n, p->input_offset, acc);
    for (r = 0; r < 4; ++r) {
      out[o + r] = fc_requant(p, acc[r] + (bias != NULL ? bias[o + r] : 0), o + r);
    }
  }
  for (; o < p->output_depth; ++o) {
    const int32_t acc = fe_dot1_s8(row, weights + o * n, n, p->input_offset);
    out[o] = fc_requant(p, acc + (bias != NULL ? bias[o] : 0), o);
  }
}

void fe_fully_connected(const fe_fc_params *p, const int8_t *input, const int8_t *weights,
                        const int32_t *bias, int8_t *output) {
  int32_t b;
  int32_t o;
  for (b = 0; b < p->batches; ++b) {
    const int8_t *row = input + b * p->accum_depth;
    int8_t *out = output + b * p->output_depth;
    if (p->filter_offset == 0) {
      fc_row(p, row, weights, bias, out);
      continue;
    }
    for (o = 0; o < p->output_depth; ++o) {
      const int32_t acc = fe_dot_s8(row, weights + o * p->accum_depth, p->accum_depth,
                                    p->input_offset, p->filter_offset);
      out[o] = fc_requant(p, acc + (bias != NULL ? bias[o] : 0), o);
    }
  }
}
