/* LOGISTIC and TANH int8 as TFLite Micro's reference integer kernels (no lookup table): the
 * input minus its zero point is rescaled to Q4.27 (inputs beyond the radius saturate), the
 * gemmlowp fixed-point logistic / tanh gives a Q0.31 result, rounded to the int8 output
 * (logistic: scale 1/256, zero point -128; tanh: scale 1/128, zero point 0).
 * Safe in place: each element is read before it is written. */
#include "fe_internal.h"

#define FE_SIGMOID_INPUT_BITS 4

/* gemmlowp one_minus_x_over_one_plus_x_for_x_in_0_1: (1 - a) / (1 + a), Q0.31 in and out. */
static int32_t one_minus_x_over_one_plus_x(int32_t a) {
  const int32_t c48_over_17 = 1515870810;      /* Q2.29 */
  const int32_t cneg32_over_17 = -1010580540;  /* Q2.29 */
  const int32_t one_q2 = (int32_t)1 << 29;
  const int64_t sum = (int64_t)a + (int64_t)INT32_MAX;
  const int32_t half_den = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
  int32_t x = fe_add_wrap(c48_over_17, fe_srdhm(half_den, cneg32_over_17));
  int i;
  for (i = 0; i < 3; ++i) {
    const int32_t one_minus = fe_sub_wrap(one_q2, fe_srdhm(half_den, x));
    x = fe_add_wrap(x, fe_srmpot(fe_srdhm(x, one_minus), 2));
  }
  return fe_srmpot(fe_sub_wrap(x, one_q2), 2);
}

/* gemmlowp logistic of a Q4.27 value, Q0.31 result. */
static int32_t logistic_q4(int32_t a) {
  int32_t pos;
  if (a == 0) {
    return (int32_t)1 << 30;
  }
  pos = fe_one_over_one_plus_x(fe_exp_on_negative(a > 0 ? fe_sub_wrap(0, a) : a,
                                                  FE_SIGMOID_INPUT_BITS));
  return a > 0 ? pos : fe_sub_wrap(INT32_MAX, pos);
}

/* gemmlowp tanh of a Q4.27 value, Q0.31 result (exp of 2 * (-|a|) read as Q5.26). */
static int32_t tanh_q4(int32_t a) {
  int32_t t;
  if (a == 0) {
    return 0;
  }
  t = one_minus_x_over_one_plus_x(
      fe_exp_on_negative(a < 0 ? a : fe_sub_wrap(0, a), FE_SIGMOID_INPUT_BITS + 1));
  return a < 0 ? fe_sub_wrap(0, t) : t;
}

void fe_logistic(const fe_sigmoid_params *p, const int8_t *input, int8_t *output) {
  int32_t i;
  for (i = 0; i < p->size; ++i) {
    const int32_t v = (int32_t)input[i] - p->input_zero_point;
    if (v <= -p->input_range_radius) {
      output[i] = -128;
    } else if (v >= p->input_range_radius) {
      output[i] = 127;
    } else {
      const int32_t q4 = fe_mbqm(v, p->input_multiplier, (int)p->input_left_shift);
      const int32_t out = fe_rdbpot(logistic_q4(q4), 31 - 8) - 128;
      output[i] = (int8_t)fe_clamp(out, -128, 127);
    }
  }
}

void fe_tanh(const fe_sigmoid_params *p, const int8_t *input, int8_t *output) {
  int32_t i;
  for (i = 0; i < p->size; ++i) {
    const int32_t v = (int32_t)input[i] - p->input_zero_point;
    if (v <= -p->input_range_radius) {
      output[i] = -128;
    } else if (v >= p->input_range_radius) {
      output[i] = 127;
    } else {
      const int32_t q4 = fe_mbqm(v, p->input_multiplier, (int)p->input_left_shift);
      output[i] = (int8_t)fe_clamp(fe_rdbpot(tanh_q4(q4), 31 - 7), -128, 127);
    }
  }
}
