/* DEPTHWISE_CONV_2D int8 with per-channel requantization (filter [1, H, W, in_c * mult]), as
 * TFLite's reference DepthwiseConvPerChannel; and TinyEngine's in-place variant (multiplier 1),
 * whose output lands NHWC at the front of its input's buffer.
 *
 * Two families, picked once per call (fe_depthwise_conv2d, fe_depthwise_conv2d_inplace):
 * - portable C (every target, and the DSP family's fallback): multiplier 1 pixel by pixel, the
 *   valid taps found once per pixel, each tap adding a contiguous run of channels into a block
 *   of FE_DW_BLOCK sums; in place one channel at a time into a scratch of out_h * out_w bytes,
 *   then written back over that channel's consumed input (TinyEngine); other multipliers one
 *   output at a time.
 * - Cortex-M DSP (FE_KERNELS_ACLE; multiplier 1, dilation_w 1, in_c >= 4): quads of four
 *   channels (fe_dw_quad.h), in the order the output's placement allows:
 *   - quad passes (one quad over the whole output plane, its requantization and 3x3 weights
 *     unpacked once) when the output is disjoint from the input, or slid below it by whole
 *     pixels (dw_quads_out); in place through a ring of output rows (dw_quads_inplace).
 *   - raster order (pixel by pixel, each pixel's quads in turn, requantization per output)
 *     for the planner's other slides (export/planner/overlap.py), whose safety rests on it.
 *   Channels no quad can take (dw_rq's range) fall back to the portable loops.
 * - Helium (FE_KERNELS_MVE, Cortex-M55; multiplier 1), fe_dw_mve.h: not in place with at least
 *   FE_MVE_DW_MIN_C channels, the portable pixel loop with 16 channels per step as int32 lanes
 *   (fewer channels stay on the DSP quads, which are faster there); in place with at least
 *   FE_MVE_DW_MIN_PLANE output pixels (and dilation_w 1), channel by channel through a padded
 *   plane in the scratch with output columns as lanes; on smaller planes, 16 channels at a
 *   time as lanes through the scratch (fe_mve_depthwise_small_inplace).
 */
#include "fe_dw_mve.h"
#include "fe_dw_quad.h"
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

/* In place, TinyEngine's step: channel c of every output pixel into the scratch, then over
 * the consumed input of channel c (output (y, x, c) lands on a position of channel c). */
static DW_NOINLINE void dw_channel_inplace(const fe_conv_params *p, int8_t *buf,
                                           const int8_t *filter, const int32_t *bias,
                                           int8_t *scratch, int32_t c) {
  const int32_t plane = p->out_h * p->out_w;
  int32_t oy, ox, i;
  for (oy = 0; oy < p->out_h; ++oy) {
    for (ox = 0; ox < p->out_w; ++ox) {
      scratch[oy * p->out_w + ox] = dw_requant(p, dw_point(p, buf, filter, oy, ox, c, c), bias, c);
    }
  }
  for (i = 0; i < plane; ++i) {
    buf[i * p->out_c + c] = scratch[i];
  }
}

#define FE_DW_BLOCK 16

/* Channels [c0, c1) of one output pixel (multiplier 1), in blocks of FE_DW_BLOCK. */
static DW_NOINLINE void dw_pixel_m1(const fe_conv_params *p, const int8_t *input,
                                    const int8_t *filter, const int32_t *bias, int32_t oy,
                                    int32_t ox, int32_t c0, int32_t c1, int8_t *out) {
  const int32_t y0 = oy * p->stride_h - p->pad_h;
  const int32_t x0 = ox * p->stride_w - p->pad_w;
  const int32_t channels = p->in_c;
  const int32_t x_off = p->input_offset;
  int32_t fy0, fy1, fx0, fx1;
  dw_taps(y0, p->dilation_h, p->filter_h, p->in_h, &fy0, &fy1);
  dw_taps(x0, p->dilation_w, p->filter_w, p->in_w, &fx0, &fx1);
  for (; c0 < c1; c0 += FE_DW_BLOCK) {
    const int32_t n = c1 - c0 < FE_DW_BLOCK ? c1 - c0 : FE_DW_BLOCK;
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

/* Channels [c0, c1) of every output pixel, pixel by pixel. */
static void dw_pixels_m1(const fe_conv_params *p, const int8_t *input, const int8_t *filter,
                         const int32_t *bias, int32_t c0, int32_t c1, int8_t *output) {
  int32_t oy, ox;
  for (oy = 0; oy < p->out_h; ++oy) {
    for (ox = 0; ox < p->out_w; ++ox) {
      dw_pixel_m1(p, input, filter, bias, oy, ox, c0, c1,
                  output + (oy * p->out_w + ox) * p->out_c);
    }
  }
}

#if FE_KERNELS_ACLE
/* Quad passes straight into the output (in_c >= 4), when it is disjoint from the input or lies
 * below it by a whole number of pixels (a slide by the planner, export/planner/overlap.py):
 * then pass q's output of pixel k lands on the input of pixel k - (in - out) / in_c, channels
 * of quad q again, which no later pixel reads (the planner's raster-order rule for channel
 * 4q) and no other pass reads. Disjoint, the last quad sits at in_c - 4 (rewriting up to three
 * channels with the same values), and a quad outside dw_rq's range (a channel with shift 0)
 * goes through the portable loop on its own; slid, the input of the last channels is gone by
 * then, so they are left to raster order, as is everything from a quad outside the range.
 * Returns the first channel not done. */
static DW_NOINLINE int32_t dw_quads_out(const fe_conv_params *p, const int8_t *input,
                                        const int8_t *filter, const int32_t *bias,
                                        int8_t *output, int32_t disjoint) {
  const int32_t ch = p->in_c;
  const int32_t end = disjoint ? ch : ch & ~3;
  dw_pass d;
  int32_t c, oy;
  dw_pass_init(p, &d);
  for (c = 0; c < end; c += 4) {
    const int32_t q = c + 4 <= ch ? c : ch - 4;
    if (!dw_pass_quad(&d, input, filter, bias, q)) {
      if (!disjoint) {
        return q;
      }
      dw_pixels_m1(p, input, filter, bias, q, q + 4, output);
      continue;
    }
    for (oy = 0; oy < p->out_h; ++oy) {
      dw_pass_row(&d, oy, output + oy * p->out_w * ch + q, ch);
    }
  }
  return end;
}

/* In place: input pixel index below which no output row after oy reads. */
static int32_t dw_rows_floor(const fe_conv_params *p, int32_t oy) {
  const int32_t y = (oy + 1) * p->stride_h - p->pad_h;
  return oy + 1 < p->out_h ? (y > 0 ? y : 0) * p->in_w : p->in_h * p->in_w;
}

/* Most output rows an in-place quad pass holds at once (computed, not yet written back). */
static int32_t dw_ring_rows(const fe_conv_params *p) {
  int32_t oy, done = 0, most = 0;
  for (oy = 0; oy < p->out_h; ++oy) {
    const int32_t floor = dw_rows_floor(p, oy);
    most = oy + 1 - done > most ? oy + 1 - done : most;
    while (done <= oy && (done + 1) * p->out_w <= floor) {
      ++done;
    }
  }
  return most;
}

/* Words of the stack ring, for planes whose ring (rows pending x out_w words) is larger than
 * the scratch's out_h * out_w bytes: a 7x7 filter at stride 1 keeps 4 rows pending, so planes
 * narrower than 16 columns (mcunetv2-large's 14x14x256) need up to 60 words; with 32 they ran
 * channel by channel at ~20 instructions a MAC instead of ~4.5. */
#define FE_DW_RING_WORDS 64

/* In place: each pass's output rows go through a ring of `rows` rows (in the scratch, or on the
 * stack for small planes) and back over their consumed input once no later row of the pass
 * reads there (writes land on the pass's own channels only, so quads run in any order: one
 * outside dw_rq's range, a channel with shift 0, goes channel by channel through the portable
 * step, and the passes go on after it). Returns the first channel left to the per-channel
 * loop: all when neither ring fits. */
static DW_NOINLINE int32_t dw_quads_inplace(const fe_conv_params *p, int8_t *buf,
                                            const int8_t *filter, const int32_t *bias,
                                            int8_t *scratch) {
  uint32_t stack_ring[FE_DW_RING_WORDS];
  const int32_t ch = p->in_c;
  const int32_t rows = dw_ring_rows(p);
  const int32_t words = rows * p->out_w;
  uint32_t *ring = words * 4 <= p->out_h * p->out_w && ((uintptr_t)scratch & 3u) == 0
                       ? (uint32_t *)(void *)scratch
                   : words <= FE_DW_RING_WORDS ? stack_ring
                                               : NULL;
  dw_pass d;
  int32_t c = 0;
  dw_pass_init(p, &d);
  for (; ring != NULL && c + 4 <= ch; c += 4) {
    int32_t oy, k, done = 0;
    if (!dw_pass_quad(&d, buf, filter, bias, c)) { /* the ring is idle between passes */
      for (k = 0; k < 4; ++k) {
        dw_channel_inplace(p, buf, filter, bias, scratch, c + k);
      }
      continue;
    }
    for (oy = 0; oy < p->out_h; ++oy) {
      const int32_t floor = dw_rows_floor(p, oy);
      dw_pass_row(&d, oy, (int8_t *)(ring + (oy % rows) * p->out_w), 4);
      for (; done <= oy && (done + 1) * p->out_w <= floor; ++done) {
        const uint32_t *src = ring + (done % rows) * p->out_w;
        int8_t *dst = buf + done * p->out_w * ch + c;
        for (k = 0; k < p->out_w; ++k, dst += ch) {
          memcpy(dst, &src[k], 4);
        }
      }
    }
  }
  return c;
}

/* Raster order: what every pixel shares. */
typedef struct {
  const fe_conv_params *p;
  const int32_t *bias;
  int16x2_t off;      /* input offset in both halves */
  int32_t zp2;        /* 2 output_offset + 1 (dw_rq_shift) */
  uint32_t act_min4;  /* act_min in each byte */
  uint32_t act_max4;
} dw_raster_ctx;

/* Raster order: channels c.. of output pixel (oy, ox) into out, quad by quad (in_c >= 4), the
 * last quad at in_c - 4 storing only its channels past the previous quad (the others may read
 * input the previous quad's outputs have overwritten); requantization per output from the
 * multiplier and shift (checked by dw_raster_ok). */
static DW_NOINLINE void dw_raster_pixel(const dw_raster_ctx *r, const int8_t *input,
                                        const int8_t *filter, int32_t oy, int32_t ox, int32_t c,
                                        int8_t *out) {
  const fe_conv_params *p = r->p;
  const int32_t ch = p->in_c;
  const int32_t y0 = oy * p->stride_h - p->pad_h;
  const int32_t x0 = ox * p->stride_w - p->pad_w;
  const int32_t x_row = p->dilation_h * p->in_w * ch;
  int32_t fy0, fy1, fx0, fx1, full;
  const int8_t *x;
  const int8_t *w;
  dw_taps(y0, p->dilation_h, p->filter_h, p->in_h, &fy0, &fy1);
  dw_taps(x0, 1, p->filter_w, p->in_w, &fx0, &fx1);
  full = fy1 - fy0 == 3 && fx1 - fx0 == 3 && p->filter_w == 3;
  x = input + ((y0 + fy0 * p->dilation_h) * p->in_w + x0 + fx0) * ch;
  w = filter + (fy0 * p->filter_w + fx0) * ch;
  for (; c < ch; c += 4) {
    const int32_t q = c + 4 <= ch ? c : ch - 4;
    const int32_t *m = p->multiplier + q;
    const int32_t *sh = p->shift + q;
    int32_t s[4] = {0, 0, 0, 0};
    uint32_t v;
    if (r->bias != NULL) {
      memcpy(s, r->bias + q, sizeof s);
    }
    if (full) {
      dw_window4_3x3(x + q, w + q, ch, x_row, r->off, s);
    } else {
      dw_window4(x + q, w + q, fy1 - fy0, fx1 - fx0, ch, x_row, p->filter_w * ch, r->off, s);
    }
    v = fe_pack4_clamp(dw_rq_shift(s[0], m[0], sh[0], r->zp2), dw_rq_shift(s[1], m[1], sh[1], r->zp2),
                 dw_rq_shift(s[2], m[2], sh[2], r->zp2), dw_rq_shift(s[3], m[3], sh[3], r->zp2),
                 r->act_min4, r->act_max4);
    if (q == c) {
      memcpy(out + c, &v, 4);
    } else {
      int32_t k;
      for (k = c - q, v >>= 8 * k; k < 4; ++k, v >>= 8) {
        out[q + k] = (int8_t)v;
      }
    }
  }
}

/* 1 when every channel is inside dw_rq's range (raster order cannot fall back per quad: each
 * pixel writes all its channels before the next pixel reads). */
static DW_NOINLINE int dw_raster_ok(const fe_conv_params *p, const int32_t *bias) {
  int32_t c;
  dw_rq q;
  for (c = 0; c < p->in_c; ++c) {
    if (!dw_rq_make(p->multiplier[c], p->shift[c], p->output_offset, dw_max_sum(p, bias, c),
                    &q)) {
      return 0;
    }
  }
  return 1;
}

/* Channels c.. (in_c >= 4) in raster order: pixel by pixel, each pixel's quads in turn. */
static DW_NOINLINE void dw_raster(const fe_conv_params *p, const int8_t *input,
                                  const int8_t *filter, const int32_t *bias, int32_t c,
                                  int8_t *output) {
  dw_raster_ctx r;
  int32_t oy, ox;
  r.p = p;
  r.bias = bias;
  r.off = fe_dup16(p->input_offset);
  r.zp2 = 2 * p->output_offset + 1;
  r.act_min4 = (uint8_t)p->act_min * 0x01010101u;
  r.act_max4 = (uint8_t)p->act_max * 0x01010101u;
  for (oy = 0; oy < p->out_h; ++oy) {
    for (ox = 0; ox < p->out_w; ++ox) {
      dw_raster_pixel(&r, input, filter, oy, ox, c, output + (oy * p->out_w + ox) * p->out_c);
    }
  }
}

/* Multiplier 1 out of place on the DSP (dilation_w 1, in_c >= 4): quad passes when the output
 * is disjoint from the input or slid below it by whole pixels, raster order for other slides
 * and for the last channels after slid passes. Returns the first channel left to the portable
 * loop (in_c when none). */
static int32_t dw_dsp_out(const fe_conv_params *p, const int8_t *input, const int8_t *filter,
                          const int32_t *bias, int8_t *output) {
  const int32_t ch = p->in_c;
  const int disjoint = fe_disjoint(input, p->in_h * p->in_w * ch, output,
                                   p->out_h * p->out_w * p->out_c);
  const ptrdiff_t below = input - output;
  int32_t c = 0;
  if (disjoint) {
    return dw_quads_out(p, input, filter, bias, output, 1);
  }
  if (below > 0 && below % ch == 0) {
    c = dw_quads_out(p, input, filter, bias, output, 0);
    if (c < (ch & ~3) || c == ch) {
      return c;
    }
  }
  if (dw_raster_ok(p, bias)) {
    dw_raster(p, input, filter, bias, c, output);
    return ch;
  }
  return c;
}
#endif

void fe_depthwise_conv2d_inplace(const fe_conv_params *p, int8_t *buf, const int8_t *filter,
                                 const int32_t *bias, int8_t *scratch) {
  int32_t c = 0;
#if FE_KERNELS_MVE
  if (p->out_h * p->out_w < FE_MVE_DW_MIN_PLANE) {
    fe_mve_depthwise_small_inplace(p, buf, filter, bias, scratch);
    return;
  }
  if (fe_mve_dw_inplace_ok(p)) {
    fe_mve_depthwise_inplace(p, buf, filter, bias, scratch);
    return;
  }
#endif
#if FE_KERNELS_ACLE
  if (p->dilation_w == 1) {
    c = dw_quads_inplace(p, buf, filter, bias, scratch);
  }
#endif
  for (; c < p->in_c; ++c) {
    dw_channel_inplace(p, buf, filter, bias, scratch, c);
  }
}

void fe_depthwise_conv2d(const fe_conv_params *p, const int8_t *input, const int8_t *filter,
                         const int32_t *bias, int8_t *output) {
  int32_t oy, ox, ic, m;
  if (p->depth_multiplier == 1) {
    int32_t c = 0;
#if FE_KERNELS_MVE
    if (p->in_c >= FE_MVE_DW_MIN_C) {
      fe_mve_depthwise(p, input, filter, bias, output);
      return;
    }
#endif
#if FE_KERNELS_ACLE
    if (p->dilation_w == 1 && p->in_c >= 4) {
      c = dw_dsp_out(p, input, filter, bias, output);
    }
#endif
    if (c < p->in_c) {
      dw_pixels_m1(p, input, filter, bias, c, p->in_c, output);
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
