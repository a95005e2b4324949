/* CONV_2D int8 with per-channel requantization (NHWC input, OHWI filter), as TFLite's
 * reference ConvPerChannel. Per output pixel the valid filter taps are found once; with
 * dilation_w 1 the valid taps of one filter row are contiguous in both the input and the
 * filter, so each filter row is one dot product over (taps x in_c) values. Output channels go
 * four at a time (fe_dot4_s8); on Cortex-M DSP cores, with the input offset folded, two
 * neighbouring output pixels of the same tap window against two output channels
 * (fe_dot2x2_s8), when the pair's outputs cannot land on input bytes still to be read (pairs
 * leave raster order, which the planner's slides assume; see fe_disjoint). Padded taps are skipped (they contribute (zp + input_offset) * w = 0); when
 * no tap ever falls outside the input the code generator folds the input offset into the bias
 * and passes input_offset 0. On DSP cores, calls whose requantization fits the SMMULR form
 * (shifts -23..-1) go to the GEMM family of fe_conv_gemm.h instead: 1x1 without padding as
 * pointwise, other windows with k <= 192 through im2col rows; the rest stay here. Calls whose
 * weights the code generator widened or re-laid (fe_conv_params.filter_wide, filter_pairs)
 * always go there. On Helium cores (FE_KERNELS_MVE) calls with the code generator's
 * requantization records (fe_conv_params.mve_rq: pointwise over at most 64 channels, gathered
 * windows) go to fe_conv_px4_mve.h, four pixels a channel; fe_conv_mve.h and fe_gemm_mve.h
 * take the other pointwise calls and windows up to FE_MVE_MAX_K values first. */
#include "fe_conv_gemm.h"
#include "fe_conv_mve.h"
#include "fe_conv_px4_mve.h"
#include "fe_dot.h"
#include "fe_gemm_mve.h"
#include "fe_internal.h"

/* first and one-past-last filter tap whose input coordinate start + tap * dilation is inside
 * [0, size) */
static void valid_taps(int32_t start, int32_t dilation, int32_t taps, int32_t size,
                       int32_t *lo, int32_t *hi) {
  int32_t t = 0;
  while (t < taps && start + t * dilation < 0) {
    ++t;
  }
  *lo = t;
  while (t < taps && start + t * dilation < size) {
    ++t;
  }
  *hi = t;
}

/* An output pixel's tap window: input origin and valid filter rows / columns. */
typedef struct {
  int32_t y0, x0, fy_lo, fy_hi, fx_lo, fx_hi;
} conv_win;

static conv_win window(const fe_conv_params *p, int32_t oy, int32_t ox) {
  conv_win w;
  w.y0 = oy * p->stride_h - p->pad_h;
  w.x0 = ox * p->stride_w - p->pad_w;
  valid_taps(w.y0, p->dilation_h, p->filter_h, p->in_h, &w.fy_lo, &w.fy_hi);
  valid_taps(w.x0, p->dilation_w, p->filter_w, p->in_w, &w.fx_lo, &w.fx_hi);
  return w;
}

FE_INLINE int8_t conv_requant(const fe_conv_params *p, int32_t acc, const int32_t *bias,
                              int32_t oc) {
  if (bias != NULL) {
    acc += bias[oc];
  }
  acc = fe_mbqm(acc, p->multiplier[oc], p->shift[oc]) + p->output_offset;
  return (int8_t)fe_clamp(acc, p->act_min, p->act_max);
}

/* Calls DOT(x, w, n) for each run of contiguous valid taps of window wn, output channel oc:
 * one run per filter row when dilation_w is 1, one per tap otherwise. */
#define CONV_RUNS(p, input, filter, wn, oc, DOT)                                             \
  do {                                                                                       \
    const int32_t merge_ = (p)->dilation_w == 1;                                             \
    const int32_t len_ = merge_ ? ((wn)->fx_hi - (wn)->fx_lo) * (p)->in_c : (p)->in_c;       \
    int32_t fy_, fx_;                                                                        \
    for (fy_ = (wn)->fy_lo; fy_ < (wn)->fy_hi; ++fy_) {                                      \
      const int32_t iy_ = (wn)->y0 + fy_ * (p)->dilation_h;                                  \
      for (fx_ = (wn)->fx_lo; fx_ < (merge_ ? (wn)->fx_lo + 1 : (wn)->fx_hi); ++fx_) {       \
        const int32_t ix_ = (wn)->x0 + fx_ * (p)->dilation_w;                                \
        const int8_t *x_ = (input) + (iy_ * (p)->in_w + ix_) * (p)->in_c;                    \
        const int8_t *w_ = (filter) + (((oc) * (p)->filter_h + fy_) * (p)->filter_w + fx_) * \
                                          (p)->in_c;                                         \
        DOT(x_, w_, len_);                                                                   \
      }                                                                                      \
    }                                                                                        \
  } while (0)

static void conv_pixel(const fe_conv_params *p, const int8_t *input, const int8_t *filter,
                       const int32_t *bias, const conv_win *wn, int8_t *out) {
  const int32_t oc_stride = p->filter_h * p->filter_w * p->in_c;
  const int32_t x_off = p->input_offset;
  int32_t oc = 0;
  for (; oc + 4 <= p->out_c; oc += 4) {
    int32_t acc[4] = {0, 0, 0, 0};
    int32_t r;
#if FE_KERNELS_SSE2 /* SIMD sums kept across the filter rows, one horizontal sum */
    fe_sse_acc4 v;
    fe_sse_acc4_zero(&v);
#define DOT4(x, w, n) fe_sse_acc4_add(&v, x, w, oc_stride, n, x_off, acc)
    CONV_RUNS(p, input, filter, wn, oc, DOT4);
#undef DOT4
    fe_sse_acc4_sum(&v, acc);
#else
#define DOT4(x, w, n) fe_dot4_s8(x, w, oc_stride, n, x_off, acc)
    CONV_RUNS(p, input, filter, wn, oc, DOT4);
#undef DOT4
#endif
    for (r = 0; r < 4; ++r) {
      out[oc + r] = conv_requant(p, acc[r], bias, oc + r);
    }
  }
  for (; oc < p->out_c; ++oc) {
    int32_t acc = 0;
#define DOT1(x, w, n) (acc += fe_dot1_s8(x, w, n, x_off))
    CONV_RUNS(p, input, filter, wn, oc, DOT1);
#undef DOT1
    out[oc] = conv_requant(p, acc, bias, oc);
  }
}

#if defined(FE_DOT2X2)
/* Output pixels (oy, ox) and (oy, ox + 1), same tap window shape, no input offset: pairs of
 * output channels with fe_dot2x2_s8, an odd last channel with fe_dot1_s8. */
static void conv_pixel_pair(const fe_conv_params *p, const int8_t *input, const int8_t *filter,
                            const int32_t *bias, const conv_win *wn, int8_t *out) {
  const int32_t oc_stride = p->filter_h * p->filter_w * p->in_c;
  const int32_t xs = p->stride_w * p->in_c;
  int32_t oc = 0;
  for (; oc + 2 <= p->out_c; oc += 2) {
    int32_t acc[4] = {0, 0, 0, 0};
#define DOT2X2(x, w, n) fe_dot2x2_s8(x, xs, w, oc_stride, n, acc)
    CONV_RUNS(p, input, filter, wn, oc, DOT2X2);
#undef DOT2X2
    out[oc] = conv_requant(p, acc[0], bias, oc);
    out[oc + 1] = conv_requant(p, acc[1], bias, oc + 1);
    out[p->out_c + oc] = conv_requant(p, acc[2], bias, oc);
    out[p->out_c + oc + 1] = conv_requant(p, acc[3], bias, oc + 1);
  }
  if (oc < p->out_c) {
    int32_t a0 = 0, a1 = 0;
#define DOT1X2(x, w, n) (a0 += fe_dot1_s8(x, w, n, 0), a1 += fe_dot1_s8((x) + xs, w, n, 0))
    CONV_RUNS(p, input, filter, wn, oc, DOT1X2);
#undef DOT1X2
    out[oc] = conv_requant(p, a0, bias, oc);
    out[p->out_c + oc] = conv_requant(p, a1, bias, oc);
  }
}
#endif

#if FE_KERNELS_ACLE
/* 1 when the call is pointwise in shape: a 1x1 filter without padding on any side (explicit
 * pads after the last row / column would put output pixels outside the input) or input offset
 * (the code generator folds it into the bias). */
static int pointwise_shape(const fe_conv_params *p) {
  return p->filter_h == 1 && p->filter_w == 1 && p->pad_h == 0 && p->pad_w == 0 &&
         (p->out_h - 1) * p->stride_h < p->in_h && (p->out_w - 1) * p->stride_w < p->in_w &&
         p->input_offset == 0;
}

/* 1 when the pointwise family (fe_conv_gemm.h) takes the call: pointwise in shape and every
 * channel's requantization in fe_rq8z's range. */
static int pointwise_ok(const fe_conv_params *p, const int32_t *bias) {
  return pointwise_shape(p) && cg_plan_ok(p, bias);
}

/* Pointwise CONV_2D: output rows in raster order (one run of the whole plane at stride 1). */
static void conv_pointwise(const fe_conv_params *p, const int8_t *input, const int8_t *filter,
                           const int32_t *bias, int8_t *output, int disjoint) {
  cg_call g;
  int32_t oy;
  cg_call_init(&g, p, filter, bias);
  if (p->in_c <= CG_MAX_K) { /* inputs widened once per pair (fe_conv_gemm.h) */
    if (p->stride_h == 1 && p->stride_w == 1) {
      cg_run_wide(&g, input, p->in_c, p->out_h * p->out_w, output);
      return;
    }
    for (oy = 0; oy < p->out_h; ++oy) {
      cg_run_wide(&g, input + oy * p->stride_h * p->in_w * p->in_c, p->stride_w * p->in_c,
                  p->out_w, output + oy * p->out_w * p->out_c);
    }
    return;
  }
  if (p->stride_h == 1 && p->stride_w == 1) {
    cg_run(&g, input, p->in_c, p->out_h * p->out_w, output, disjoint);
    return;
  }
  for (oy = 0; oy < p->out_h; ++oy) {
    cg_run(&g, input + oy * p->stride_h * p->in_w * p->in_c, p->stride_w * p->in_c, p->out_w,
           output + oy * p->out_w * p->out_c, disjoint);
  }
}
#endif

#if FE_KERNELS_ACLE
int fe_conv2d_pointwise(const fe_conv_params *p, const int8_t *input, const int8_t *filter,
                        const int32_t *bias, int8_t *output) {
  if (!pointwise_ok(p, bias)) {
    return 0;
  }
  conv_pointwise(p, input, filter, bias, output,
                 fe_disjoint(input, p->in_h * p->in_w * p->in_c, output,
                             p->out_h * p->out_w * p->out_c));
  return 1;
}
#endif

/* Any CONV_2D, pixel by pixel (pairs where FE_DOT2X2 and the writes allow). Out of line:
 * its locals stay out of fe_conv2d's frame, under which the GEMM family's calls run. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void conv_generic(const fe_conv_params *p, const int8_t *input, const int8_t *filter,
                         const int32_t *bias, int8_t *output) {
#if defined(FE_DOT2X2)
  const int32_t disjoint = fe_disjoint(input, p->in_h * p->in_w * p->in_c, output,
                                       p->out_h * p->out_w * p->out_c);
#endif
  int32_t oy;
  int32_t ox;
  for (oy = 0; oy < p->out_h; ++oy) {
    for (ox = 0; ox < p->out_w; ++ox) {
      const conv_win wn = window(p, oy, ox);
      int8_t *out = output + (oy * p->out_w + ox) * p->out_c;
#if defined(FE_DOT2X2)
      if (p->input_offset == 0 && ox + 1 < p->out_w) {
        const conv_win next = window(p, oy, ox + 1);
        /* every input byte still to be read lies at or above input row max(0, y0) (later
         * pixels start no higher up), so the pair may be written below it */
        const int8_t *lowest = input + (wn.y0 > 0 ? wn.y0 : 0) * p->in_w * p->in_c;
        if (next.fx_lo == wn.fx_lo && next.fx_hi == wn.fx_hi &&
            (disjoint || fe_below(out, 2 * p->out_c, lowest))) {
          conv_pixel_pair(p, input, filter, bias, &wn, out);
          ++ox;
          continue;
        }
      }
#endif
      conv_pixel(p, input, filter, bias, &wn, out);
    }
  }
}

void fe_conv2d(const fe_conv_params *p, const int8_t *input, const int8_t *filter,
               const int32_t *bias, int8_t *output) {
#if FE_KERNELS_MVE
  if (fe_mve_conv_px4_ok(p)) { /* four pixels a channel (fe_conv_px4_mve.h) */
    fe_mve_conv_px4(p, input, filter, output);
    return;
  }
  if (fe_mve_conv_gather_ok(p)) { /* windows of at most 48 values, gathered (fe_conv_mve.h) */
    fe_mve_conv_gather(p, input, filter, bias, output);
    return;
  }
  if (fe_mve_conv2d_ok(p)) {
    fe_mve_conv2d(p, input, filter, bias, output);
    return;
  }
#endif
#if FE_KERNELS_ACLE
  if (p->filter_wide != NULL) { /* widened weights: the generator checked k and the range */
#if CG_MAX_K < 192
    if (p->filter_h * p->filter_w * p->in_c > CG_MAX_K) {
      __builtin_trap(); /* kernels built for smaller calls (CG_MAX_K): no path takes these */
    }
#endif
    if (pointwise_shape(p)) {
      conv_pointwise(p, input, NULL, bias, output, 1);
    } else {
      cg_call g;
      cg_call_init(&g, p, NULL, bias);
      cg_conv_im2col(&g, input, output);
    }
    return;
  }
  if (p->filter_pairs != NULL) { /* re-laid weights: the generator checked shape and range */
    conv_pointwise(p, input, NULL, bias, output,
                   fe_disjoint(input, p->in_h * p->in_w * p->in_c, output,
                               p->out_h * p->out_w * p->out_c));
    return;
  }
  if (fe_conv2d_pointwise(p, input, filter, bias, output)) {
    return;
  }
  if (p->filter_h * p->filter_w * p->in_c <= CG_MAX_K && cg_plan_ok(p, bias)) {
    cg_call g;
    cg_call_init(&g, p, filter, bias);
    cg_conv_im2col(&g, input, output);
    return;
  }
#endif
  conv_generic(p, input, filter, bias, output);
}
