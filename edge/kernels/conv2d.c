/* CONV_2D int8 with per-channel requantization (NHWC input, OHWI filter), as TFLite's
 * reference ConvPerChannel. Per output pixel: the valid filter taps are found once, then the
 * output channels four at a time (fe_dot4_s8 over each tap's input channels). Padded taps are
 * skipped (they contribute (zp + input_offset) * w = 0); when no tap ever falls outside the
 * input the code generator folds the input offset into the bias and passes input_offset 0. */
#include "fe_dot.h"
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

FE_INLINE int8_t conv_requant(const fe_conv_params *p, int32_t acc, const int32_t *bias,
                           int32_t oc) {
  if (bias != NULL) {
    acc += bias[oc];
  }
  acc = fe_mbqm(acc, p->multiplier[oc], p->shift[oc]) + p->output_offset;
  return (int8_t)fe_clamp(acc, p->act_min, p->act_max);
}

/* sum over the taps [fy0, fy1) x [fx0, fx1) of output channels oc .. oc + count - 1 */
static void conv_taps(const fe_conv_params *p, const int8_t *input, const int8_t *filter,
                      const int32_t win[6], int32_t oc, int32_t count, int32_t acc[4]) {
  const int32_t oc_stride = p->filter_h * p->filter_w * p->in_c;
  int32_t fy;
  int32_t fx;
  for (fy = win[2]; fy < win[3]; ++fy) {
    const int32_t iy = win[0] + fy * p->dilation_h;
    for (fx = win[4]; fx < win[5]; ++fx) {
      const int32_t ix = win[1] + fx * p->dilation_w;
      const int8_t *x = input + (iy * p->in_w + ix) * p->in_c;
      const int8_t *w = filter + ((oc * p->filter_h + fy) * p->filter_w + fx) * p->in_c;
      if (count == 4) {
        fe_dot4_s8(x, w, oc_stride, p->in_c, p->input_offset, acc);
      } else {
        acc[0] += fe_dot1_s8(x, w, p->in_c, p->input_offset);
      }
    }
  }
}

static void conv_pixel(const fe_conv_params *p, const int8_t *input, const int8_t *filter,
                       const int32_t *bias, int32_t oy, int32_t ox, int8_t *out) {
  int32_t win[6]; /* y0, x0, fy_lo, fy_hi, fx_lo, fx_hi */
  int32_t oc = 0;
  win[0] = oy * p->stride_h - p->pad_h;
  win[1] = ox * p->stride_w - p->pad_w;
  valid_taps(win[0], p->dilation_h, p->filter_h, p->in_h, &win[2], &win[3]);
  valid_taps(win[1], p->dilation_w, p->filter_w, p->in_w, &win[4], &win[5]);
  for (; oc + 4 <= p->out_c; oc += 4) {
    int32_t acc[4] = {0, 0, 0, 0};
    int32_t r;
    conv_taps(p, input, filter, win, oc, 4, acc);
    for (r = 0; r < 4; ++r) {
      out[oc + r] = conv_requant(p, acc[r], bias, oc + r);
    }
  }
  for (; oc < p->out_c; ++oc) {
    int32_t acc[4] = {0, 0, 0, 0};
    conv_taps(p, input, filter, win, oc, 1, acc);
    out[oc] = conv_requant(p, acc[0], bias, oc);
  }
}

void fe_conv2d(const fe_conv_params *p, const int8_t *input, const int8_t *filter,
               const int32_t *bias, int8_t *output) {
  int32_t oy;
  int32_t ox;
  for (oy = 0; oy < p->out_h; ++oy) {
    for (ox = 0; ox < p->out_w; ++ox) {
      conv_pixel(p, input, filter, bias, oy, ox, output + (oy * p->out_w + ox) * p->out_c);
    }
  }
}
