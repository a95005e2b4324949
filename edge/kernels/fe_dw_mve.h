/* DEPTHWISE_CONV_2D (multiplier 1) on Helium (MVE, Cortex-M55); depthwise_conv2d.c calls it
 * from fe_depthwise_conv2d when FE_KERNELS_MVE is 1 (the in-place variant keeps its DSP and
 * portable paths). The portable dw_pixel_m1 loop nest, vectorised across channels: output
 * pixels in raster order, the valid taps of each found once (dw_taps), channels in blocks of
 * 16 held as four int32x4 sums started at the bias, then blocks of 4; per valid tap and four
 * channels a widening load of input (VLDRB.S32, the input offset added) and one of weights,
 * VMUL.I32 and VADD.I32 (MVE has no lane-wise integer multiply-accumulate); then per four
 * channels TFLite's double-rounding requantization (fe_mve_requant4) and a narrowing store. A
 * last block of 1-3 channels uses predicated loads and stores. Each block's
 * reads come before its writes and blocks go in raster order, so outputs the planner slid over
 * the input stay safe, as on the portable path.
 */
#ifndef FE_DW_MVE_H
#define FE_DW_MVE_H

#include <stdint.h>

#include "fe_dot_mve.h"
#include "fe_dw_quad.h"

#if FE_KERNELS_MVE

/* Fewest channels fe_mve_depthwise takes: measured on qemu-m55, 16 channels of 3x1 windows (zoo
 * gcn) 151,257 -> 96,307 instructions against the DSP quads; 8 channels of 3x3 (zoo cnn)
 * 32,638 on the quads, 47,481 here (4 lanes a step cannot beat weights kept unpacked across a
 * quad's whole plane). */
#define FE_MVE_DW_MIN_C 16

/* s += (x + off) * w on four lanes at x_ + K, w_ + K (loads by LD). */
#define FE_MVE_DW_MAC(S, LD, K) \
  S = vaddq_s32(S, vmulq_s32(vaddq_n_s32(LD(x_ + (K)), off), LD(w_ + (K))))
/* One tap of a block of 16 channels (TAP16) or 4 (TAP4, loads by LD). */
#define FE_MVE_DW_TAP16           \
  do {                            \
    FE_MVE_DW_MAC(s0, vldrbq_s32, 0);  \
    FE_MVE_DW_MAC(s1, vldrbq_s32, 4);  \
    FE_MVE_DW_MAC(s2, vldrbq_s32, 8);  \
    FE_MVE_DW_MAC(s3, vldrbq_s32, 12); \
  } while (0)
#define FE_MVE_DW_TAP4(LD) FE_MVE_DW_MAC(s0, LD, 0)
#define FE_MVE_DW_LDZ(P) vldrbq_z_s32(P, pr)

/* Every valid tap (TAP) of one pixel's block starting at channel c0. */
#define FE_MVE_DW_WINDOW(TAP)                                                             \
  do {                                                                                    \
    int32_t fy_, fx_;                                                                     \
    for (fy_ = w->fy0; fy_ < w->fy1; ++fy_) {                                             \
      const int32_t iy_ = w->y0 + fy_ * p->dilation_h;                                    \
      const int8_t *x_ = input + (iy_ * p->in_w + w->x0 + w->fx0 * p->dilation_w) * ch + c0; \
      const int8_t *w_ = filter + (fy_ * p->filter_w + w->fx0) * ch + c0;                 \
      for (fx_ = w->fx0; fx_ < w->fx1; ++fx_, x_ += xs, w_ += ch) {                      \
        TAP;                                                                              \
      }                                                                                   \
    }                                                                                     \
  } while (0)

/* An output pixel's window: input origin and valid filter rows / columns. */
typedef struct {
  int32_t y0, x0, fy0, fy1, fx0, fx1;
} fe_mve_dw_win;

/* Four channels c of one pixel from their sums s, requantized, stored under predicate pr. */
FE_INLINE void fe_mve_dw_store(const fe_conv_params *p, int32x4_t s, int32_t c,
                               mve_pred16_t pr, int8_t *out) {
  const fe_mve_rq rq = fe_mve_rq_make(vldrwq_z_s32(p->multiplier + c, pr),
                                      vldrwq_z_s32(p->shift + c, pr));
  vstrbq_p_s32(out + c, fe_mve_requant4(s, &rq, p->output_offset, p->act_min, p->act_max), pr);
}

/* One output pixel: channels in blocks of 16, then of 4 (the last one predicated). */
static inline void fe_mve_dw_pixel(const fe_conv_params *p, const int8_t *input,
                                   const int8_t *filter, const int32_t *bias,
                                   const fe_mve_dw_win *w, int8_t *out) {
  const int32_t ch = p->in_c;
  const int32_t off = p->input_offset;
  const int32_t xs = p->dilation_w * ch; /* input step between taps of a filter row */
  const mve_pred16_t all = vctp32q(4);
  int32_t c0 = 0;
  for (; c0 + 16 <= ch; c0 += 16) {
    int32x4_t s0 = vdupq_n_s32(0), s1 = s0, s2 = s0, s3 = s0;
    if (bias != NULL) {
      s0 = vld1q_s32(bias + c0);
      s1 = vld1q_s32(bias + c0 + 4);
      s2 = vld1q_s32(bias + c0 + 8);
      s3 = vld1q_s32(bias + c0 + 12);
    }
    FE_MVE_DW_WINDOW(FE_MVE_DW_TAP16);
    fe_mve_dw_store(p, s0, c0, all, out);
    fe_mve_dw_store(p, s1, c0 + 4, all, out);
    fe_mve_dw_store(p, s2, c0 + 8, all, out);
    fe_mve_dw_store(p, s3, c0 + 12, all, out);
  }
  for (; c0 < ch; c0 += 4) {
    const mve_pred16_t pr = vctp32q((uint32_t)(ch - c0));
    int32x4_t s0 = bias != NULL ? vldrwq_z_s32(bias + c0, pr) : vdupq_n_s32(0);
    if (c0 + 4 <= ch) {
      FE_MVE_DW_WINDOW(FE_MVE_DW_TAP4(vldrbq_s32));
    } else {
      FE_MVE_DW_WINDOW(FE_MVE_DW_TAP4(FE_MVE_DW_LDZ));
    }
    fe_mve_dw_store(p, s0, c0, pr, out);
  }
}

static inline void fe_mve_depthwise(const fe_conv_params *p, const int8_t *input,
                                    const int8_t *filter, const int32_t *bias, int8_t *output) {
  fe_mve_dw_win w;
  int32_t oy, ox;
  for (oy = 0; oy < p->out_h; ++oy) {
    w.y0 = oy * p->stride_h - p->pad_h;
    dw_taps(w.y0, p->dilation_h, p->filter_h, p->in_h, &w.fy0, &w.fy1);
    for (ox = 0; ox < p->out_w; ++ox) {
      w.x0 = ox * p->stride_w - p->pad_w;
      dw_taps(w.x0, p->dilation_w, p->filter_w, p->in_w, &w.fx0, &w.fx1);
      fe_mve_dw_pixel(p, input, filter, bias, &w, output + (oy * p->out_w + ox) * p->in_c);
    }
  }
}

#undef FE_MVE_DW_WINDOW
#undef FE_MVE_DW_TAP16
#undef FE_MVE_DW_TAP4
#undef FE_MVE_DW_MAC
#undef FE_MVE_DW_LDZ

#endif /* FE_KERNELS_MVE */

#endif /* FE_DW_MVE_H */
