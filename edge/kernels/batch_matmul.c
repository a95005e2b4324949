/* BATCH_MATMUL int8 with broadcast batch dimensions and adj_x / adj_y, as TFLite's reference.
 * The int32 sum is order-independent, so no transposed copy (and no scratch) is needed. */
#include "fe_internal.h"

static int32_t strided_dot(const int8_t *a, int32_t sa, const int8_t *b, int32_t sb, int32_t n,
                           int32_t a_off, int32_t b_off) {
  int32_t acc = 0;
  int32_t k;
  for (k = 0; k < n; ++k) {
    acc += ((int32_t)a[k * sa] + a_off) * ((int32_t)b[k * sb] + b_off);
  }
  return acc;
}

static void matmul_one(const fe_bmm_params *p, const int8_t *lhs, const int8_t *rhs,
                       int8_t *out) {
  /* element strides of (row i, depth k) in lhs and (col j, depth k) in rhs */
  const int32_t li = p->adj_x ? 1 : p->depth;
  const int32_t lk = p->adj_x ? p->rows : 1;
  const int32_t rj = p->adj_y ? p->depth : 1;
  const int32_t rk = p->adj_y ? 1 : p->cols;
  int32_t i;
  int32_t j;
  for (i = 0; i < p->rows; ++i) {
    for (j = 0; j < p->cols; ++j) {
      int32_t acc;
      if (lk == 1 && rk == 1) {
        acc = fe_dot_s8(lhs + i * li, rhs + j * rj, p->depth, p->lhs_offset, p->rhs_offset);
      } else {
        acc = strided_dot(lhs + i * li, lk, rhs + j * rj, rk, p->depth, p->lhs_offset,
                          p->rhs_offset);
      }
      acc = fe_mbqm(acc, p->multiplier, p->shift) + p->output_offset;
      out[i * p->cols + j] = (int8_t)fe_clamp(acc, -128, 127);
    }
  }
}

void fe_batch_matmul(const fe_bmm_params *p, const int8_t *lhs, const int8_t *rhs,
                     int8_t *output) {
  const int32_t mat = p->rows * p->cols;
  int32_t b0;
  int32_t b1;
  int32_t b2;
  int32_t n = 0;
  for (b0 = 0; b0 < p->batch_dims[0]; ++b0) {
    for (b1 = 0; b1 < p->batch_dims[1]; ++b1) {
      for (b2 = 0; b2 < p->batch_dims[2]; ++b2, ++n) {
        const int32_t lo = b0 * p->lhs_batch_stride[0] + b1 * p->lhs_batch_stride[1] +
                           b2 * p->lhs_batch_stride[2];
        const int32_t ro = b0 * p->rhs_batch_stride[0] + b1 * p->rhs_batch_stride[1] +
                           b2 * p->rhs_batch_stride[2];
        matmul_one(p, lhs + lo, rhs + ro, output + n * mat);
      }
    }
  }
}
