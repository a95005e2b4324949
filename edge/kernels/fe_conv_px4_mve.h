/* CONV_2D on Helium (MVE, Cortex-M55), four output pixels against one output channel a step,
 * for the calls the code generator gave requantization records (fe_conv_params.mve_rq,
 * export/codegen/ops_linear.py's _mve_rq: pointwise over at most FE_MVE_PX4_MAX_K channels,
 * or windows fe_conv_mve.h gathers; int8's whole activation range, shifts -24..-1). conv2d.c's
 * dispatch calls fe_mve_conv_px4 for them before fe_conv_mve.h's gathered blocks and
 * fe_gemm_mve.h's pixel pairs, which kept each channel's sums in a stack array and loaded the
 * per-channel requantization vectors again for every pixel (qemu-m55, mcunet-detection's 1x1
 * convolutions 16 -> 32 channels 12.6 -> 8.1 instructions an output, mcunet-vww1's 8 -> 48
 * 12.4 -> 7.9).
 *
 * - Rows: a block's four im2col rows of k values, interleaved by 16 (fe_mve_px4_rows): pointwise
 *   pixels copied from the input, other windows gathered (fe_conv_mve.h's cursor, padded taps
 *   = -input_offset, which contributes 0). A block reads all its input before writing, and
 *   blocks go in raster order, so outputs the planner slid over the dying input stay correct.
 * - Per output channel the four rows' dot products with its weights: VMLADAV(A).S8 over 16
 *   lanes a step (k <= 16: the four rows stay in Q registers for every channel; longer rows
 *   are read per channel, one pointer walking the interleaved steps), the weights' last step
 *   under VCTP (lanes past k never count). The input offset is in the record's bias
 *   (bias + input_offset * sum(w)), so the sums are plain int8 dot products.
 * - The four sums become one int32x4 (pixels as lanes), requantized with the channel's record
 *   as scalars (fe_kernels.h's fe_conv_rq_mve): VADD bias, VQRDMULH, VSHR #31 + VQADD (ties
 *   away from zero), VQADD of the rounding constant with the output offset, VQSHL by 24 - r
 *   (saturates exactly outside int8), VSHR #24; one scatter store (VSTRB.32, offsets
 *   pixel * out_c) writes the channel's four outputs. A short last block stores its lanes
 *   under VCTP.
 */
#ifndef FE_CONV_PX4_MVE_H
#define FE_CONV_PX4_MVE_H

#include <stdint.h>

#include "fe_conv_mve.h"
#include "fe_dot_mve.h"
#include "fe_gemm_mve.h"
#include "fe_internal.h"

#if FE_KERNELS_MVE

/* The output side of a call: the records and the channel count. */
typedef struct {
  const fe_conv_rq_mve *rq; /* per output channel (the code generator's records) */
  int32_t oc_n;
} fe_mve_px4_out;

/* One channel's four sums (pixels as lanes) requantized (fe_conv_rq_mve): bias, VQRDMULH, the
 * half-away-from-zero fix-up and the rounding constant with the output offset, then the
 * saturating left shift that clamps to int8 and the shift down to the low byte. */
FE_INLINE int32x4_t fe_mve_px4_requant(int32x4_t v, const fe_conv_rq_mve *rq) {
  v = vqrdmulhq_n_s32(vaddq_n_s32(v, rq->bias), rq->mult);
  v = vqaddq_n_s32(vqaddq_s32(v, vshrq_n_s32(v, 31)), rq->round);
  return vshrq_n_s32(vqshlq_r_s32(v, rq->lsh), 24);
}

/* Four sums as one vector, pixel i in lane i. */
FE_INLINE int32x4_t fe_mve_px4_vec(int32_t a0, int32_t a1, int32_t a2, int32_t a3) {
  int32x4_t v = vdupq_n_s32(a0);
  v = vsetq_lane_s32(a1, v, 1);
  v = vsetq_lane_s32(a2, v, 2);
  return vsetq_lane_s32(a3, v, 3);
}

#if defined(__GNUC__)
#define FE_PX4_NOINLINE __attribute__((noinline))
#else
#define FE_PX4_NOINLINE
#endif

/* Largest row (k values) of a block: pointwise calls over more channels stay on fe_gemm_mve.h
 * (export/codegen/ops_linear.py's MVE_PX4_MAX_K, which sets no records for them). */
#define FE_MVE_PX4_MAX_K 64

/* A block's rows interleaved by 16 values: step s of pixel i at v[s][i] (lanes past k are
 * never used: the weights' last step is loaded under VCTP). Gathered windows fill three
 * steps, so FE_MVE_PX4_MAX_K is at least FE_MVE_GK rounded up to 16. */
typedef char fe_mve_px4_fits_gathered[FE_MVE_PX4_MAX_K >= (FE_MVE_GK + 15) / 16 * 16 ? 1 : -1];
typedef struct {
  int8_t v[FE_MVE_PX4_MAX_K / 16][4][16];
} fe_mve_px4_rows;

/* k <= 16: the four rows in registers against every channel, the four pixels stored. */
static FE_PX4_NOINLINE void fe_mve_px4_k16(const fe_mve_px4_out *q, const fe_mve_px4_rows *x,
                                           int32_t k, const int8_t *w, int8_t *out) {
  const mve_pred16_t tk = vctp8q((uint32_t)k);
  const int8x16_t x0 = vld1q_s8(x->v[0][0]), x1 = vld1q_s8(x->v[0][1]);
  const int8x16_t x2 = vld1q_s8(x->v[0][2]), x3 = vld1q_s8(x->v[0][3]);
  const uint32x4_t offs = vmulq_n_u32(vidupq_n_u32(0u, 1), (uint32_t)q->oc_n);
  const fe_conv_rq_mve *rq = q->rq;
  int32_t c;
  for (c = q->oc_n; c > 0; --c, w += k, ++out, ++rq) {
    const int8x16_t wv = vldrbq_z_s8(w, tk);
    const int32x4_t v = fe_mve_px4_vec(vmladavq_s8(x0, wv), vmladavq_s8(x1, wv),
                                       vmladavq_s8(x2, wv), vmladavq_s8(x3, wv));
    vstrbq_scatter_offset_s32(out, offs, fe_mve_px4_requant(v, rq));
  }
}

/* k > 16 (or a short last block, tail 1: the lanes of pr stored): per channel the rows'
 * steps, the last one's weights predicated. */
FE_INLINE void fe_mve_px4_long_body(const fe_mve_px4_out *q, const fe_mve_px4_rows *x,
                                    int32_t k, const int8_t *w, int8_t *out, mve_pred16_t pr,
                                    const int tail) {
  const int32_t steps = (k - 1) >> 4, last = k - 16 * steps; /* full steps, then 1..16 */
  const mve_pred16_t tk = vctp8q((uint32_t)last);
  const uint32x4_t offs = vmulq_n_u32(vidupq_n_u32(0u, 1), (uint32_t)q->oc_n);
  const fe_conv_rq_mve *rq = q->rq;
  int32_t c, j;
  for (c = q->oc_n; c > 0; --c, ++out, ++rq) {
    const int8_t *xv = x->v[0][0];
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    int8x16_t wv;
    int32x4_t v;
    for (j = steps; j > 0; --j, w += 16, xv += 64) {
      wv = vld1q_s8(w);
      a0 = vmladavaq_s8(a0, vld1q_s8(xv), wv);
      a1 = vmladavaq_s8(a1, vld1q_s8(xv + 16), wv);
      a2 = vmladavaq_s8(a2, vld1q_s8(xv + 32), wv);
      a3 = vmladavaq_s8(a3, vld1q_s8(xv + 48), wv);
    }
    wv = vldrbq_z_s8(w, tk);
    w += last;
    a0 = vmladavaq_s8(a0, vld1q_s8(xv), wv);
    a1 = vmladavaq_s8(a1, vld1q_s8(xv + 16), wv);
    a2 = vmladavaq_s8(a2, vld1q_s8(xv + 32), wv);
    a3 = vmladavaq_s8(a3, vld1q_s8(xv + 48), wv);
    v = fe_mve_px4_requant(fe_mve_px4_vec(a0, a1, a2, a3), rq);
    if (tail) {
      vstrbq_scatter_offset_p_s32(out, offs, v, pr);
    } else {
      vstrbq_scatter_offset_s32(out, offs, v);
    }
  }
}

static FE_PX4_NOINLINE void fe_mve_px4_long(const fe_mve_px4_out *q, const fe_mve_px4_rows *x,
                                            int32_t k, const int8_t *w, int8_t *out) {
  fe_mve_px4_long_body(q, x, k, w, out, vctp32q(4), 0);
}

static FE_PX4_NOINLINE void fe_mve_px4_tail(const fe_mve_px4_out *q, const fe_mve_px4_rows *x,
                                            int32_t k, const int8_t *w, int8_t *out,
                                            int32_t np) {
  fe_mve_px4_long_body(q, x, k, w, out, vctp32q((uint32_t)np), 1);
}

/* 1 when fe_mve_conv_px4 takes the call: requantization records from the code generator, and
 * pointwise over at most FE_MVE_PX4_MAX_K channels or a gathered window (fe_conv_mve.h); the
 * generator sets the records only for such calls (export/codegen/ops_linear.py, _mve_rq). */
static inline int fe_mve_conv_px4_ok(const fe_conv_params *p) {
  return p->mve_rq != NULL &&
         (fe_mve_pointwise(p) ? p->in_c <= FE_MVE_PX4_MAX_K : fe_mve_conv_gather_ok(p));
}

/* One block of np (1..4) pixels' rows. */
FE_INLINE void fe_mve_px4_block(const fe_mve_px4_out *q, const fe_mve_px4_rows *x, int32_t k,
                                const int8_t *filter, int8_t *out, int32_t np) {
  if (np < 4) {
    fe_mve_px4_tail(q, x, k, filter, out, np);
  } else if (k <= 16) {
    fe_mve_px4_k16(q, x, k, filter, out);
  } else {
    fe_mve_px4_long(q, x, k, filter, out);
  }
}

/* Pointwise: each block's pixels copied into the rows, walking the output raster (one pixel
 * stride_w * in_c bytes on, a row stride_h * in_w * in_c). */
static inline void fe_mve_px4_pointwise(const fe_conv_params *p, const fe_mve_px4_out *q,
                                        const int8_t *input, const int8_t *filter,
                                        int8_t *output) {
  const int32_t k = p->in_c, oc_n = p->out_c, pixels = p->out_h * p->out_w;
  const int32_t step = p->stride_w * k, row_step = p->stride_h * p->in_w * k;
  const int8_t *row = input, *x = input;
  fe_mve_px4_rows rows;
  int32_t pix, i, j, ox = 0;
  for (pix = 0; pix < pixels; pix += 4) {
    const int32_t np = pixels - pix < 4 ? pixels - pix : 4;
    for (i = 0; i < np; ++i) {
      for (j = 0; j < k; j += 16) {
        vst1q_s8(rows.v[j >> 4][i], vldrbq_z_s8(x + j, vctp8q((uint32_t)(k - j))));
      }
      if (++ox == p->out_w) {
        ox = 0;
        row += row_step;
        x = row;
      } else {
        x += step;
      }
    }
    fe_mve_px4_block(q, &rows, k, filter, output + pix * oc_n, np);
  }
}

/* Other windows (fe_mve_conv_gather_ok): each pixel's window vectors gathered into the rows. */
static inline void fe_mve_px4_gathered(const fe_conv_params *p, const fe_mve_px4_out *q,
                                       const int8_t *input, const int8_t *filter,
                                       int8_t *output) {
  const int32_t oc_n = p->out_c, pixels = p->out_h * p->out_w;
  fe_mve_px4_rows rows;
  fe_mve_win win;
  fe_mve_cursor cur;
  int32_t pix, i;
  fe_mve_win_init(p, &win);
  fe_mve_cursor_init(&cur, p, input);
  for (pix = 0; pix < pixels; pix += 4) {
    const int32_t np = pixels - pix < 4 ? pixels - pix : 4;
    for (i = 0; i < np; ++i) {
      int8x16_t xa, xb, xc;
      fe_mve_take(&win, &cur, win.groups, 1, &xa, &xb, &xc);
      vst1q_s8(rows.v[0][i], xa);
      vst1q_s8(rows.v[1][i], xb);
      vst1q_s8(rows.v[2][i], xc);
    }
    fe_mve_px4_block(q, &rows, win.k, filter, output + pix * oc_n, np);
  }
}

/* CONV_2D (the calls fe_mve_conv_px4_ok accepts) in blocks of four output pixels. */
static inline void fe_mve_conv_px4(const fe_conv_params *p, const int8_t *input,
                                   const int8_t *filter, int8_t *output) {
  fe_mve_px4_out q;
  q.rq = p->mve_rq;
  q.oc_n = p->out_c;
  if (fe_mve_pointwise(p)) {
    fe_mve_px4_pointwise(p, &q, input, filter, output);
  } else {
    fe_mve_px4_gathered(p, &q, input, filter, output);
  }
}

#endif /* FE_KERNELS_MVE */

#endif /* FE_CONV_PX4_MVE_H */
