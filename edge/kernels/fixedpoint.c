/* gemmlowp-style fixed-point transcendental approximations used by SOFTMAX and RSQRT. */
#include "fe_fixedpoint.h"

int32_t fe_exp_quarter_q0(int32_t a) {
  const int32_t constant_term = 1895147668;   /* exp(-1/8), Q0.31 */
  const int32_t constant_1_over_3 = 715827883; /* 1/3, Q0.31 */
  const int32_t x = fe_add_wrap(a, (int32_t)1 << 28);
  const int32_t x2 = fe_srdhm(x, x);
  const int32_t x3 = fe_srdhm(x2, x);
  const int32_t x4 = fe_srdhm(x2, x2);
  const int32_t x4_over_4 = fe_srmpot(x4, -2);
  const int32_t poly = fe_srmpot(
      fe_add_wrap(fe_srdhm(fe_add_wrap(x4_over_4, x3), constant_1_over_3), x2), -1);
  return fe_add_wrap(constant_term, fe_srdhm(constant_term, fe_add_wrap(x, poly)));
}

int32_t fe_exp_on_negative(int32_t a, int integer_bits) {
  static const int32_t multipliers[7] = {1672461947, 1302514674, 790015084, 290630308,
                                         39332535,   720401,     242};
  const int fractional_bits = 31 - integer_bits;
  const int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
  const int32_t mask = one_quarter - 1;
  const int32_t a_mod_minus_quarter = fe_sub_wrap(a & mask, one_quarter);
  const int32_t remainder = fe_sub_wrap(a_mod_minus_quarter, a);
  int32_t result = fe_exp_quarter_q0(fe_srmpot(a_mod_minus_quarter, integer_bits));
  int exponent;
  for (exponent = -2; exponent <= 4; ++exponent) {
    if (integer_bits > exponent) {
      const int shift_amount = fractional_bits + exponent;
      if ((remainder & ((int32_t)1 << shift_amount)) != 0) {
        result = fe_srdhm(result, multipliers[exponent + 2]);
      }
    }
  }
  if (integer_bits > 5) {
    const int32_t clamp = -((int32_t)1 << (36 - integer_bits));
    if (a < clamp) {
      result = 0;
    }
  }
  if (a == 0) {
    result = INT32_MAX;
  }
  return result;
}

int32_t fe_one_over_one_plus_x(int32_t a) {
  const int32_t c48_over_17 = 1515870810;      /* Q2.29 */
  const int32_t cneg32_over_17 = -1010580540;  /* Q2.29 */
  const int32_t one_q2 = (int32_t)1 << 29;
  const int64_t sum = (int64_t)a + (int64_t)INT32_MAX;
  const int32_t half_den = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
  int32_t x = fe_add_wrap(c48_over_17, fe_srdhm(half_den, cneg32_over_17));
  int i;
  for (i = 0; i < 3; ++i) {
    const int32_t hdx = fe_srdhm(half_den, x);
    const int32_t one_minus = fe_sub_wrap(one_q2, hdx);
    x = fe_add_wrap(x, fe_srmpot(fe_srdhm(x, one_minus), 2));
  }
  return fe_srmpot(x, 1);
}

void fe_inv_sqrt_multiplier(int32_t input, int reverse_shift, int32_t *multiplier, int *shift) {
  const int32_t half_three = ((int32_t)1 << 28) + ((int32_t)1 << 27); /* 1.5, Q3.28 */
  int32_t x = (int32_t)1 << 28;                                         /* 1.0, Q3.28 */
  int32_t fp_input;
  int32_t fp_half_input;
  unsigned left_pairs;
  int out_shift = 11;
  int i;
  if (input <= 1) {
    *multiplier = INT32_MAX;
    *shift = 0;
    return;
  }
  while (input >= ((int32_t)1 << 29)) {
    input /= 4;
    ++out_shift;
  }
  left_pairs = ((unsigned)fe_clz32((uint32_t)input) - 1u) / 2u - 1u;
  out_shift -= (int)left_pairs;
  input = (int32_t)((uint32_t)input << (2u * left_pairs));
  fp_input = input >> 1;
  fp_half_input = fe_srmpot(fp_input, -1);
  for (i = 0; i < 5; ++i) {
    const int32_t x3 = fe_srmpot(fe_srdhm(fe_srdhm(x, x), x), 6);
    x = fe_srmpot(fe_sub_wrap(fe_srdhm(half_three, x), fe_srdhm(fp_half_input, x3)), 3);
  }
  x = fe_srdhm(x, 1518500250); /* sqrt(2)/2, Q0.31 */
  if (out_shift < 0) {
    x = (int32_t)((uint32_t)x << -out_shift);
    out_shift = 0;
  }
  *multiplier = x;
  *shift = out_shift * reverse_shift;
}
