/* BATCH_MATMUL int8 with broadcast batch dimensions and adj_x / adj_y, as TFLite's reference.
 * Each operand is read through its batch strides and a row stride, so an operand may be a
 * strided view (a TRANSPOSE the planner folded away: the K^T and V heads of attention read
 * straight from the KV cache). The innermost stored dimension is always contiguous.
 * The int32 sum is order-independent, so no transposed copy (and no scratch) is needed, and
 * sum_k (a + ao)(b + bo) = sum_k (a + ao) b + bo * sum_k (a + ao): the rhs offset costs one
 * multiply per output, the row sum one pass per lhs row. On Helium cores (FE_KERNELS_MVE) the
 * rows of a non-transposed lhs go to fe_gemm_mve.h. */
#include "fe_dot.h"
#include "fe_gemm_mve.h"
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

FE_INLINE int8_t bmm_requant(const fe_bmm_params *p, int32_t acc) {
  acc = fe_mbqm(acc, p->multiplier, p->shift) + p->output_offset;
  return (int8_t)fe_clamp(acc, -128, 127);
}

#if FE_KERNELS_SSE2
#define FE_BMM_BLOCK 16
/* rhs stored [k][j], 64-bit hosts: 16 output columns at a time in an int32 block the compiler
 * vectorises (a row of b is 16 contiguous bytes), the requantization unpacked once. */
static int32_t cols_block16(const fe_bmm_params *p, const fe_rq *q, const int8_t *a,
                            const int8_t *rhs, int32_t bias, int8_t *out) {
  const int32_t n = p->depth;
  const int32_t c = p->cols;
  const int32_t rs = p->rhs_row_stride;
  int32_t j = 0;
  for (; j + FE_BMM_BLOCK <= c; j += FE_BMM_BLOCK) {
    int32_t acc[FE_BMM_BLOCK];
    const int8_t *b = rhs + j;
    int32_t k;
    int32_t r;
    for (r = 0; r < FE_BMM_BLOCK; ++r) {
      acc[r] = bias;
    }
    for (k = 0; k < n; ++k, b += rs) {
      const int32_t ak = (int32_t)a[k] + p->lhs_offset;
      for (r = 0; r < FE_BMM_BLOCK; ++r) {
        acc[r] += ak * b[r];
      }
    }
    for (r = 0; r < FE_BMM_BLOCK; ++r) {
      out[j + r] = (int8_t)fe_clamp(fe_rq_apply(q, acc[r]) + p->output_offset, -128, 127);
    }
  }
  return j;
}
#endif

static int32_t row_sum(const int8_t *a, int32_t n, int32_t a_off) {
  int32_t s = n * a_off;
  int32_t k;
  for (k = 0; k < n; ++k) {
    s += a[k];
  }
  return s;
}

/* rhs stored [j][k] (adj_y): output columns four at a time as rows of a weight matrix */
static void row_times_rows(const fe_bmm_params *p, const int8_t *a, const int8_t *rhs,
                           int8_t *out) {
  const int32_t n = p->depth;
  const int32_t rs = p->rhs_row_stride;
  const int32_t bias = p->rhs_offset * row_sum(a, n, p->lhs_offset);
  int32_t j = 0;
  for (; j + 4 <= p->cols; j += 4) {
    int32_t acc[4] = {bias, bias, bias, bias};
    int32_t r;
    fe_dot4_s8(a, rhs + j * rs, rs, n, p->lhs_offset, acc);
    for (r = 0; r < 4; ++r) {
      out[j + r] = bmm_requant(p, acc[r]);
    }
  }
  for (; j < p->cols; ++j) {
    out[j] = bmm_requant(p, bias + fe_dot1_s8(a, rhs + j * rs, n, p->lhs_offset));
  }
}

/* rhs stored [k][j]: four output columns at a time, walking down the rhs rows */
static void row_times_cols(const fe_bmm_params *p, const int8_t *a, const int8_t *rhs,
                           int8_t *out) {
  const int32_t n = p->depth;
  const int32_t c = p->cols;
  const int32_t rs = p->rhs_row_stride;
  const int32_t bias = p->rhs_offset * row_sum(a, n, p->lhs_offset);
  int32_t j = 0;
  int32_t k;
#if FE_KERNELS_SSE2
  const fe_rq q = fe_rq_make(p->multiplier, (int)p->shift);
  j = cols_block16(p, &q, a, rhs, bias, out);
#endif
  for (; j + 4 <= c; j += 4) {
    int32_t s0 = bias, s1 = bias, s2 = bias, s3 = bias;
    const int8_t *b = rhs + j;
    for (k = 0; k < n; ++k, b += rs) {
      const int32_t ak = (int32_t)a[k] + p->lhs_offset;
      s0 += ak * b[0];
      s1 += ak * b[1];
      s2 += ak * b[2];
      s3 += ak * b[3];
    }
    out[j] = bmm_requant(p, s0);
    out[j + 1] = bmm_requant(p, s1);
    out[j + 2] = bmm_requant(p, s2);
    out[j + 3] = bmm_requant(p, s3);
  }
  for (; j < c; ++j) {
    out[j] = bmm_requant(p, bias + strided_dot(a, 1, rhs + j, rs, n, p->lhs_offset, 0));
  }
}

static void matmul_one(const fe_bmm_params *p, const int8_t *lhs, const int8_t *rhs,
                       int8_t *out) {
  int32_t i;
  int32_t j;
  if (!p->adj_x) {
    for (i = 0; i < p->rows; ++i) {
#if FE_KERNELS_MVE
      if (p->adj_y) {
        fe_mve_bmm_rows(p, lhs + i * p->lhs_row_stride, rhs, out + i * p->cols);
      } else {
        fe_mve_bmm_cols(p, lhs + i * p->lhs_row_stride, rhs, out + i * p->cols);
      }
      continue;
#endif
      if (p->adj_y) {
        row_times_rows(p, lhs + i * p->lhs_row_stride, rhs, out + i * p->cols);
      } else {
        row_times_cols(p, lhs + i * p->lhs_row_stride, rhs, out + i * p->cols);
      }
    }
    return;
  }
  /* lhs stored [k][i]: rare in practice; element by element */
  for (i = 0; i < p->rows; ++i) {
    for (j = 0; j < p->cols; ++j) {
      const int32_t acc = p->adj_y
          ? strided_dot(lhs + i, p->lhs_row_stride, rhs + j * p->rhs_row_stride, 1, p->depth,
                        p->lhs_offset, p->rhs_offset)
          : strided_dot(lhs + i, p->lhs_row_stride, rhs + j, p->rhs_row_stride, p->depth,
                        p->lhs_offset, p->rhs_offset);
      out[i * p->cols + j] = bmm_requant(p, acc);
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
