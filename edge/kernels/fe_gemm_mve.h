/* The Helium (MVE, Cortex-M55) GEMM family: FULLY_CONNECTED, BATCH_MATMUL and CONV_2D as
 * int8 matrix products over fe_dot_mve.h's micro-kernels, with TFLite's requantization four
 * outputs at a time (fe_mve_requant4). Each operator's .c file calls its driver from its
 * dispatch when FE_KERNELS_MVE is 1; without it this header defines nothing.
 *
 * - fe_mve_fully_connected: pairs of input rows against blocks of three weight rows
 *   (fe_mve_gemv2 over fe_mve_dot2x3) when there is no input offset and the pair's writes
 *   cannot reach input still to be read; otherwise one row against four weight rows at a time
 *   (fe_mve_gemv over fe_mve_dot4, each input vector loaded once for four rows), one vector
 *   requantization and one narrowing store per four features (predicated for the last 1-3).
 *   Weights with a zero point (filter_offset != 0) stay on the generic path.
 * - fe_mve_fc_sparse: FULLY_CONNECTED over compressed-row weights, four input rows a vector
 *   (gathers of each nonzero weight's inputs, scatter stores of each feature's outputs).
 * - fe_mve_bmm_rows (rhs stored [j][k]: adj_y): the columns as rows of a weight matrix, as
 *   FULLY_CONNECTED, the lhs offset inside the dot and the rhs offset as rhs_offset * the lhs
 *   row's sum (one bias per row). fe_mve_bmm_cols (rhs stored [k][j]): 16 columns per pass
 *   (fe_mve_cols16), requantized as four vectors.
 * - fe_mve_conv2d: a 1x1 window without padding reads its input pixel in place, any other
 *   window is gathered into one row of k = filter_h * filter_w * in_c values (fe_mve_im2col:
 *   vector copies, padded taps = -input_offset, which contributes 0) when k <= FE_MVE_MAX_K;
 *   an input offset is folded into the bias once per call; then pixel pairs as
 *   FULLY_CONNECTED's row pairs. Larger windows take the DSP / portable paths.
 */
#ifndef FE_GEMM_MVE_H
#define FE_GEMM_MVE_H

#include <stdint.h>

#include "fe_dot_mve.h"
#include "fe_internal.h"

#if FE_KERNELS_MVE

/* Largest im2col row (filter_h * filter_w * in_c) fe_mve_conv2d gathers on the stack: 576
 * unless a build that knows its model's calls sets less (-DFE_MVE_MAX_K=N, a multiple of 16 at
 * least every call's k: export/codegen/kernel_defines.py), so no call changes path. */
#ifndef FE_MVE_MAX_K
#define FE_MVE_MAX_K 576
#endif
#if FE_MVE_MAX_K < 16 || FE_MVE_MAX_K > 576 || FE_MVE_MAX_K % 16 != 0
#error "FE_MVE_MAX_K: a multiple of 16 from 16 to 576"
#endif

/* Requantization of four consecutive outputs from per-output (per_channel) or one shared
 * multiplier and shift, starting at output o. */
FE_INLINE fe_mve_rq fe_mve_rq_at(const int32_t *mult, const int32_t *shift, int32_t per_channel,
                                 int32_t o, mve_pred16_t p) {
  if (per_channel) {
    return fe_mve_rq_make(vldrwq_z_s32(mult + o, p), vldrwq_z_s32(shift + o, p));
  }
  return fe_mve_rq_make(vdupq_n_s32(mult[0]), vdupq_n_s32(shift[0]));
}

/* What one row of outputs (features / channels / columns) needs besides its sums. */
typedef struct {
  const int32_t *mult;  /* per output, or one when per_channel == 0 */
  const int32_t *shift;
  const int32_t *bias;  /* per output, or NULL */
  int32_t per_channel;
  int32_t out_offset, lo, hi;
} fe_mve_out;

/* Sums v0 (and v1 for a second row, when out1 is not NULL) of outputs o .. o + 3, of which
 * `left` exist: bias added, requantized, stored at out0 + o (out1 + o). Whole groups load and
 * store without predication; the last 1-3 outputs under VCTP.32. */
FE_INLINE void fe_mve_out4(const fe_mve_out *q, int32x4_t v0, int32x4_t v1, int32_t o,
                           int32_t left, int8_t *out0, int8_t *out1) {
  if (left >= 4) {
    const fe_mve_rq rq = q->per_channel
                             ? fe_mve_rq_make(vld1q_s32(q->mult + o), vld1q_s32(q->shift + o))
                             : fe_mve_rq_make(vdupq_n_s32(q->mult[0]), vdupq_n_s32(q->shift[0]));
    const int32x4_t b = q->bias != NULL ? vld1q_s32(q->bias + o) : vdupq_n_s32(0);
    vstrbq_s32(out0 + o, fe_mve_requant4(vaddq_s32(v0, b), &rq, q->out_offset, q->lo, q->hi));
    if (out1 != NULL) {
      vstrbq_s32(out1 + o, fe_mve_requant4(vaddq_s32(v1, b), &rq, q->out_offset, q->lo, q->hi));
    }
  } else {
    const mve_pred16_t p = vctp32q((uint32_t)left);
    const fe_mve_rq rq = fe_mve_rq_at(q->mult, q->shift, q->per_channel, o, p);
    const int32x4_t b = q->bias != NULL ? vldrwq_z_s32(q->bias + o, p) : vdupq_n_s32(0);
    vstrbq_p_s32(out0 + o, fe_mve_requant4(vaddq_s32(v0, b), &rq, q->out_offset, q->lo, q->hi),
                 p);
    if (out1 != NULL) {
      vstrbq_p_s32(out1 + o,
                   fe_mve_requant4(vaddq_s32(v1, b), &rq, q->out_offset, q->lo, q->hi), p);
    }
  }
}

/* depth outputs out[o] = requant(bias0 + bias[o] + sum_k (x[k] + x_off) * w[o * ws + k]), k < n. */
static inline void fe_mve_gemv(const fe_mve_out *q, const int8_t *x, const int8_t *w, int32_t n,
                               int32_t ws, int32_t depth, int32_t x_off, int32_t bias0,
                               int8_t *out) {
  int32_t o;
  for (o = 0; o < depth; o += 4, w += 4 * ws) {
    const int32_t rows = depth - o < 4 ? depth - o : 4;
    int32_t s[4] = {bias0, bias0, bias0, bias0};
    int32x4_t v;
    int32_t r;
    if (rows == 4) {
      fe_mve_dot4(x, w, ws, n, x_off, s);
    } else {
      for (r = 0; r < rows; ++r) {
        s[r] += fe_mve_dot1(x, w + r * ws, n, x_off);
      }
    }
    v = fe_mve_vec4(s);
    fe_mve_out4(q, v, v, o, rows, out, NULL);
  }
}

/* Output features a two-row pass sums before requantizing them (four blocks of three). */
#define FE_MVE_CHUNK 12

/* Two input rows x0, x1 (n values each, no input offset) against depth weight rows ws apart:
 * out0[o], out1[o]. Blocks of three features (fe_mve_dot2x3; a short last block repeats its
 * first row), requantized a chunk of FE_MVE_CHUNK at a time, so both rows' outputs of a chunk
 * are written before the next chunk reads the rows again. */
static inline void fe_mve_gemv2(const fe_mve_out *q, const int8_t *x0, const int8_t *x1,
                                const int8_t *w, int32_t n, int32_t ws, int32_t depth,
                                int8_t *out0, int8_t *out1) {
  int32_t o0, j;
  for (o0 = 0; o0 < depth; o0 += FE_MVE_CHUNK) {
    const int32_t chunk = depth - o0 < FE_MVE_CHUNK ? depth - o0 : FE_MVE_CHUNK;
    int32_t s0[FE_MVE_CHUNK], s1[FE_MVE_CHUNK];
    for (j = 0; j < chunk; j += 3) {
      const int8_t *wa = w + (o0 + j) * ws;
      fe_mve_dot2x3(x0, x1, wa, j + 1 < chunk ? wa + ws : wa, j + 2 < chunk ? wa + 2 * ws : wa,
                    n, s0 + j, s1 + j);
    }
    for (j = 0; j < chunk; j += 4) {
      fe_mve_out4(q, vld1q_s32(s0 + j), vld1q_s32(s1 + j), o0 + j, chunk - j, out0, out1);
    }
  }
}

/* FULLY_CONNECTED with symmetric weights (filter_offset 0). */
static inline void fe_mve_fully_connected(const fe_fc_params *p, const int8_t *input,
                                          const int8_t *weights, const int32_t *bias,
                                          int8_t *output) {
  const int32_t n = p->accum_depth;
  const int32_t depth = p->output_depth;
  const int32_t batches = p->batches;
  const int32_t x_off = p->input_offset;
  fe_mve_out q;
  int32_t b;
  q.mult = p->multiplier;
  q.shift = p->shift;
  q.bias = bias;
  q.per_channel = p->per_channel;
  q.out_offset = p->output_offset;
  q.lo = p->act_min;
  q.hi = p->act_max;
  b = 0;
  if (x_off == 0) {
    const int disjoint = fe_disjoint(input, batches * n, output, batches * depth);
    while (b + 2 <= batches) { /* a pair writes row b + 1's outputs while row b is read */
      if (disjoint || fe_below(output + b * depth, 2 * depth, input + b * n)) {
        fe_mve_gemv2(&q, input + b * n, input + (b + 1) * n, weights, n, n, depth,
                     output + b * depth, output + (b + 1) * depth);
        b += 2;
      } else {
        fe_mve_gemv(&q, input + b * n, weights, n, n, depth, 0, 0, output + b * depth);
        b += 1;
      }
    }
  }
  for (; b < batches; ++b) {
    fe_mve_gemv(&q, input + b * n, weights, n, n, depth, x_off, 0, output + b * depth);
  }
}

/* FULLY_CONNECTED over compressed rows (fe_sparse_s8): four input rows at once, one per lane.
 * Per nonzero weight one gather of the four rows' inputs (VLDRB.S32, offsets row * n + col)
 * and one multiply-accumulate by the weight (VMLA by a scalar); per output feature one
 * requantization and one scatter store of its four rows. A block writes four rows' outputs
 * while their inputs are still read, so blocks run where that cannot reach input still to be
 * read (fe_disjoint / fe_below); elsewhere one row at a time (raster order). */
static inline void fe_mve_fc_sparse(const fe_fc_params *p, const fe_sparse_s8 *w,
                                    const int8_t *input, const int32_t *bias, int8_t *output) {
  const int32_t n = p->accum_depth;
  const int32_t depth = p->output_depth;
  const int32_t batches = p->batches;
  const int32_t x_off = p->input_offset;
  const int32_t mstep = p->per_channel ? 1 : 0;
  const uint32x4_t in_rows = vmulq_n_u32(vidupq_n_u32(0u, 1), (uint32_t)n);
  const uint32x4_t out_rows = vmulq_n_u32(vidupq_n_u32(0u, 1), (uint32_t)depth);
  const int disjoint = fe_disjoint(input, batches * n, output, batches * depth);
  int32_t b = 0;
  while (b < batches) {
    int32_t rows = batches - b < 4 ? batches - b : 4;
    const int8_t *x = input + b * n;
    int8_t *out = output + b * depth;
    mve_pred16_t pr;
    int32_t o, j = 0;
    if (rows > 1 && !disjoint && !fe_below(out, rows * depth, x)) {
      rows = 1;
    }
    pr = vctp32q((uint32_t)rows);
    for (o = 0; o < depth; ++o) {
      const int32_t end = w->start[o + 1];
      const fe_mve_rq rq = fe_mve_rq_make(vdupq_n_s32(p->multiplier[o * mstep]),
                                          vdupq_n_s32(p->shift[o * mstep]));
      int32x4_t acc = vdupq_n_s32(bias != NULL ? bias[o] : 0);
      if (x_off == 0) {
        for (; j < end; ++j) {
          acc = vmlaq_n_s32(acc, vldrbq_gather_offset_z_s32(x, vaddq_n_u32(in_rows, w->col[j]), pr),
                            w->val[j]);
        }
      } else {
        for (; j < end; ++j) {
          const int32x4_t xv = vldrbq_gather_offset_z_s32(x, vaddq_n_u32(in_rows, w->col[j]), pr);
          acc = vmlaq_n_s32(acc, vaddq_n_s32(xv, x_off), w->val[j]);
        }
      }
      vstrbq_scatter_offset_p_s32(out + o, out_rows,
                                  fe_mve_requant4(acc, &rq, p->output_offset, p->act_min,
                                                  p->act_max), pr);
    }
    b += rows;
  }
}

/* sum_k (a[k] + a_off), k < n */
FE_INLINE int32_t fe_mve_row_sum(const int8_t *a, int32_t n, int32_t a_off) {
  int32_t s = n * a_off;
  for (; n > 0; n -= 16, a += 16) {
    s = vaddvaq_p_s8(s, vldrbq_z_s8(a, vctp8q((uint32_t)n)), vctp8q((uint32_t)n));
  }
  return s;
}

/* BATCH_MATMUL, one lhs row a against rhs stored [j][k] (adj_y). */
static inline void fe_mve_bmm_rows(const fe_bmm_params *p, const int8_t *a, const int8_t *rhs,
                                   int8_t *out) {
  const int32_t shift = p->shift;
  fe_mve_out q;
  q.mult = &p->multiplier;
  q.shift = &shift;
  q.bias = NULL;
  q.per_channel = 0;
  q.out_offset = p->output_offset;
  q.lo = -128;
  q.hi = 127;
  fe_mve_gemv(&q, a, rhs, p->depth, p->rhs_row_stride, p->cols, p->lhs_offset,
              p->rhs_offset * fe_mve_row_sum(a, p->depth, p->lhs_offset), out);
}

/* BATCH_MATMUL, one lhs row a against rhs stored [k][j]: 16 columns per pass. */
static inline void fe_mve_bmm_cols(const fe_bmm_params *p, const int8_t *a, const int8_t *rhs,
                                   int8_t *out) {
  const int32_t bias = p->rhs_offset * fe_mve_row_sum(a, p->depth, p->lhs_offset);
  const fe_mve_rq rq = fe_mve_rq_make(vdupq_n_s32(p->multiplier), vdupq_n_s32(p->shift));
  const int32_t c = p->cols;
  int32_t j, r;
  for (j = 0; j < c; j += 16) {
    const int32_t cols = c - j < 16 ? c - j : 16;
    int32x4_t acc[4];
    for (r = 0; r < 4; ++r) {
      acc[r] = vdupq_n_s32(bias);
    }
    fe_mve_cols16(a, p->lhs_offset, rhs + j, p->rhs_row_stride, p->depth, cols, acc);
    for (r = 0; r < 4 && 4 * r < cols; ++r) {
      const int32x4_t v = fe_mve_requant4(acc[r], &rq, p->output_offset, -128, 127);
      if (cols - 4 * r >= 4) {
        vstrbq_s32(out + j + 4 * r, v);
      } else {
        vstrbq_p_s32(out + j + 4 * r, v, vctp32q((uint32_t)(cols - 4 * r)));
      }
    }
  }
}

/* 1 when output pixels of p are 1x1 windows read in place: no padding, all inside the input. */
static inline int fe_mve_pointwise(const fe_conv_params *p) {
  return p->filter_h == 1 && p->filter_w == 1 && p->pad_h == 0 && p->pad_w == 0 &&
         (p->out_h - 1) * p->stride_h < p->in_h && (p->out_w - 1) * p->stride_w < p->in_w;
}

/* 1 when fe_mve_conv2d takes the call: pointwise, or a window of at most FE_MVE_MAX_K values. */
static inline int fe_mve_conv2d_ok(const fe_conv_params *p) {
  return fe_mve_pointwise(p) || p->filter_h * p->filter_w * p->in_c <= FE_MVE_MAX_K;
}

/* n bytes from src to dst, 16 per step (predicated): a short copy costs a few instructions
 * instead of a library call. */
FE_INLINE void fe_mve_copy(int8_t *dst, const int8_t *src, int32_t n) {
  for (; n > 0; n -= 16, dst += 16, src += 16) {
    const mve_pred16_t p = vctp8q((uint32_t)n);
    vstrbq_p_s8(dst, vldrbq_z_s8(src, p), p);
  }
}

/* n bytes of v at dst. */
FE_INLINE void fe_mve_fill(int8_t *dst, int8_t v, int32_t n) {
  const int8x16_t fill = vdupq_n_s8(v);
  for (; n > 0; n -= 16, dst += 16) {
    vstrbq_p_s8(dst, fill, vctp8q((uint32_t)n));
  }
}

/* Output pixel (oy, ox)'s window as one row of k values in filter order (OHWI's HWI), padded
 * taps filled with -input_offset, which contributes (x + offset) * w = 0 (fe_conv_gemm.h's
 * cg_im2col with vector copies). */
static inline void fe_mve_im2col(const fe_conv_params *p, const int8_t *input, int32_t oy,
                                 int32_t ox, int8_t *row) {
  const int32_t y0 = oy * p->stride_h - p->pad_h;
  const int32_t x0 = ox * p->stride_w - p->pad_w;
  const int8_t pad = (int8_t)-p->input_offset;
  const int32_t c = p->in_c;
  const int32_t span = p->filter_w * c;
  int32_t fy, fx;
  for (fy = 0; fy < p->filter_h; ++fy, row += span) {
    const int32_t iy = y0 + fy * p->dilation_h;
    if (iy < 0 || iy >= p->in_h) {
      fe_mve_fill(row, pad, span);
    } else if (p->dilation_w == 1 && x0 >= 0 && x0 + p->filter_w <= p->in_w) {
      fe_mve_copy(row, input + (iy * p->in_w + x0) * c, span); /* whole filter row */
    } else {
      for (fx = 0; fx < p->filter_w; ++fx) {
        const int32_t ix = x0 + fx * p->dilation_w;
        if (ix >= 0 && ix < p->in_w) {
          fe_mve_copy(row + fx * c, input + (iy * p->in_w + ix) * c, c);
        } else {
          fe_mve_fill(row + fx * c, pad, c);
        }
      }
    }
  }
}

/* Output pixel pix's k input values: in place (pointwise) or gathered into row. */
FE_INLINE const int8_t *fe_mve_pixel(const fe_conv_params *p, const int8_t *input, int32_t pix,
                                     int in_place, int8_t *row) {
  const int32_t oy = pix / p->out_w, ox = pix - oy * p->out_w;
  const int8_t *x = input + (oy * p->stride_h * p->in_w + ox * p->stride_w) * p->in_c;
  if (in_place) {
    return x;
  }
  if (fe_mve_pointwise(p)) {
    fe_mve_copy(row, x, p->in_c);
  } else {
    fe_mve_im2col(p, input, oy, ox, row);
  }
  return row;
}

/* Largest out_c whose folded input offset fe_mve_conv2d keeps on the stack: 256 unless a build
 * that knows its model's calls sets less (-DFE_MVE_MAX_OC=N, a multiple of 4 at least every
 * call's out_c: export/codegen/kernel_defines.py); a wider call would only not fold. */
#ifndef FE_MVE_MAX_OC
#define FE_MVE_MAX_OC 256
#endif
#if FE_MVE_MAX_OC < 4 || FE_MVE_MAX_OC > 256 || FE_MVE_MAX_OC % 4 != 0
#error "FE_MVE_MAX_OC: a multiple of 4 from 4 to 256"
#endif


/* CONV_2D's output side for fe_mve_out4 (per-channel requantization); with fold, its bias is
 * bias + input_offset * (sum of each channel's k weights), written to folded[out_c]
 * (out_c <= FE_MVE_MAX_OC), so the sums need no input offset. */
static inline fe_mve_out fe_mve_conv_out(const fe_conv_params *p, const int32_t *bias,
                                         const int8_t *filter, int32_t k, int fold,
                                         int32_t *folded) {
  fe_mve_out q;
  int32_t c;
  q.mult = p->multiplier;
  q.shift = p->shift;
  q.bias = bias;
  q.per_channel = 1;
  q.out_offset = p->output_offset;
  q.lo = p->act_min;
  q.hi = p->act_max;
  if (fold) {
    for (c = 0; c < p->out_c; ++c) {
      folded[c] = (bias != NULL ? bias[c] : 0) +
                  p->input_offset * fe_mve_row_sum(filter + c * k, k, 0);
    }
    q.bias = folded;
  }
  return q;
}
/* CONV_2D (per-channel) on the calls fe_mve_conv2d_ok accepts. With an input offset o and at
 * most FE_MVE_MAX_OC channels, o * sum(w[c]) is folded into the bias once per call (padded
 * taps hold -o, so every pixel's row has all k values); pixels then go in pairs through
 * fe_mve_gemv2: both rows gathered first, or read in place when the pair's outputs cannot
 * reach input still to be read (fe_disjoint / fe_below), otherwise one at a time. */
static inline void fe_mve_conv2d(const fe_conv_params *p, const int8_t *input,
                                 const int8_t *filter, const int32_t *bias, int8_t *output) {
  const int32_t k = p->filter_h * p->filter_w * p->in_c;
  const int32_t pixels = p->out_h * p->out_w;
  const int32_t oc_n = p->out_c;
  const int pointwise = fe_mve_pointwise(p);
  const int disjoint = fe_disjoint(input, p->in_h * p->in_w * p->in_c, output, pixels * oc_n);
  int32_t x_off = p->input_offset;
  int8_t rows[2][FE_MVE_MAX_K];
  int32_t folded[FE_MVE_MAX_OC];
  const int fold = x_off != 0 && oc_n <= FE_MVE_MAX_OC;
  const fe_mve_out q = fe_mve_conv_out(p, bias, filter, k, fold, folded);
  int32_t pix = 0;
  if (fold) {
    x_off = 0;
  }
  if (x_off == 0) {
    for (; pix + 2 <= pixels; pix += 2) {
      int8_t *out = output + pix * oc_n;
      const int in_place =
          pointwise && (disjoint || fe_below(out, 2 * oc_n, fe_mve_pixel(p, input, pix, 1, NULL)));
      const int8_t *x0;
      if (!in_place && k > FE_MVE_MAX_K) { /* too long to gather: one pixel at a time */
        fe_mve_gemv(&q, fe_mve_pixel(p, input, pix, 1, NULL), filter, k, k, oc_n, 0, 0, out);
        fe_mve_gemv(&q, fe_mve_pixel(p, input, pix + 1, 1, NULL), filter, k, k, oc_n, 0, 0,
                    out + oc_n);
        continue;
      }
      x0 = fe_mve_pixel(p, input, pix, in_place, rows[0]);
      fe_mve_gemv2(&q, x0, fe_mve_pixel(p, input, pix + 1, in_place, rows[1]), filter, k, k,
                   oc_n, out, out + oc_n);
    }
  }
  for (; pix < pixels; ++pix) {
    fe_mve_gemv(&q, fe_mve_pixel(p, input, pix, pointwise, rows[0]), filter, k, k, oc_n, x_off,
                0, output + pix * oc_n);
  }
}

#endif /* FE_KERNELS_MVE */

#endif /* FE_GEMM_MVE_H */
