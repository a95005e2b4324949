/* DEPTHWISE_CONV_2D int8 with per-channel requantization (filter [1, H, W, in_c * mult]), as
 * TFLite's reference DepthwiseConvPerChannel; and TinyEngine's in-place variant (multiplier 1):
 * one channel at a time into a scratch of out_h * out_w bytes, written back over the input.
 * Multiplier 1 (out-of-place): per output pixel the valid taps are found once, and each tap
 * adds a contiguous run of channels (input and filter both channel-innermost) into a block of
 * FE_DW_BLOCK int32 sums, a loop the compiler keeps in registers or vectorises. */
#include "fe_internal.h"

static int32_t dw_point(const fe_conv_params *p, const int8_t *input, const int8_t *filter,
                        int32_t oy, int32_t ox, int32_t ic, int32_t oc) {
  const int32_t y0 = oy * p->stride_h - p->pad_h;
  const int32_t x0 = ox * p->stride_w - p->pad_w;
  int32_t acc = 0;
  int32_t fy;
  int32_t fx;
  for (fy = 0; fy < p->filter_h; ++fy) {
    const int32_t iy = y0 + fy * p->dilation_h;
    if (iy < 0 || iy >= p->in_h) {
      continue;
    }
    for (fx = 0; fx < p->filter_w; ++fx) {
      const int32_t ix = x0 + fx * p->dilation_w;
      if (ix < 0 || ix >= p->in_w) {
        continue;
      }
      acc += (int32_t)filter[(fy * p->filter_w + fx) * p->out_c + oc] *
             ((int32_t)input[(iy * p->in_w + ix) * p->in_c + ic] + p->input_offset);
    }
  }
  return acc;
}

static int8_t dw_requant(const fe_conv_params *p, int32_t acc, const int32_t *bias, int32_t oc) {
  if (bias != NULL) {
    acc += bias[oc];
  }
  acc = fe_mbqm(acc, p->multiplier[oc], p->shift[oc]) + p->output_offset;
  return (int8_t)fe_clamp(acc, p->act_min, p->act_max);
}

void fe_depthwise_conv2d_inplace(const fe_conv_params *p, int8_t *buf, const int8_t *filter,
                                 const int32_t *bias, int8_t *scratch) {
  const int32_t plane = p->out_h * p->out_w;
  int32_t c;
  int32_t i;
  for (c = 0; c < p->in_c; ++c) {
    int32_t oy;
    int32_t ox;
    for (oy = 0; oy < p->out_h; ++oy) {
      for (ox = 0; ox < p->out_w; ++ox) {
        scratch[oy * p->out_w + ox] = dw_requant(p, dw_point(p, buf, filter, oy, ox, c, c), bias, c);
      }
    }
    /* Output (y, x, c) lands on a position of channel c, whose input is consumed. */
    for (i = 0; i < plane; ++i) {
      buf[i * p->out_c + c] = scratch[i];
    }
  }
}

#define FE_DW_BLOCK 16

/* first and one-past-last tap whose coordinate start + tap * dilation is inside [0, size) */
static void dw_taps(int32_t start, int32_t dilation, int32_t taps, int32_t size, int32_t *lo,
                    int32_t *hi) {
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

/* One output pixel of a multiplier-1 depthwise convolution, channels in blocks. */
static void dw_pixel_m1(const fe_conv_params *p, const int8_t *input, const int8_t *filter,
                        const int32_t *bias, int32_t oy, int32_t ox, int8_t *out) {
  const int32_t y0 = oy * p->stride_h - p->pad_h;
  const int32_t x0 = ox * p->stride_w - p->pad_w;
  const int32_t channels = p->in_c;
  const int32_t x_off = p->input_offset;
  int32_t fy0, fy1, fx0, fx1, c0;
  dw_taps(y0, p->dilation_h, p->filter_h, p->in_h, &fy0, &fy1);
  dw_taps(x0, p->dilation_w, p->filter_w, p->in_w, &fx0, &fx1);
  for (c0 = 0; c0 < channels; c0 += FE_DW_BLOCK) {
    const int32_t n = channels - c0 < FE_DW_BLOCK ? channels - c0 : FE_DW_BLOCK;
    int32_t acc[FE_DW_BLOCK];
    int32_t fy, fx, c;
    for (c = 0; c < n; ++c) {
      acc[c] = bias != NULL ? bias[c0 + c] : 0;
    }
    for (fy = fy0; fy < fy1; ++fy) {
      const int32_t iy = y0 + fy * p->dilation_h;
      for (fx = fx0; fx < fx1; ++fx) {
        const int32_t ix = x0 + fx * p->dilation_w;
        const int8_t *x = input + (iy * p->in_w + ix) * channels + c0;
        const int8_t *w = filter + (fy * p->filter_w + fx) * channels + c0;
        for (c = 0; c < n; ++c) {
          acc[c] += ((int32_t)x[c] + x_off) * w[c];
        }
      }
    }
    for (c = 0; c < n; ++c) {
      const int32_t v = fe_mbqm(acc[c], p->multiplier[c0 + c], p->shift[c0 + c]);
      out[c0 + c] = (int8_t)fe_clamp(v + p->output_offset, p->act_min, p->act_max);
    }
  }
}

void fe_depthwise_conv2d(const fe_conv_params *p, const int8_t *input, const int8_t *filter,
                         const int32_t *bias, int8_t *output) {
  int32_t oy;
  int32_t ox;
  int32_t ic;
  int32_t m;
  if (p->depth_multiplier == 1) {
    for (oy = 0; oy < p->out_h; ++oy) {
      for (ox = 0; ox < p->out_w; ++ox) {
        dw_pixel_m1(p, input, filter, bias, oy, ox, output + (oy * p->out_w + ox) * p->out_c);
      }
    }
    return;
  }
  for (oy = 0; oy < p->out_h; ++oy) {
    for (ox = 0; ox < p->out_w; ++ox) {
      int8_t *out = output + (oy * p->out_w + ox) * p->out_c;
      for (ic = 0; ic < p->in_c; ++ic) {
        for (m = 0; m < p->depth_multiplier; ++m) {
          const int32_t oc = ic * p->depth_multiplier + m;
          out[oc] = dw_requant(p, dw_point(p, input, filter, oy, ox, ic, oc), bias, oc);
        }
      }
    }
  }
}
