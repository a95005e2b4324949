/* CONV_2D's gathered-window family on a board (on Cortex-M55 fe_conv_mve.h's Helium path,
 * elsewhere the DSP or portable ones) against a naive int32 loop and TFLite's two-step
 * requantization (fe_mbqm), on random int8 data from a fixed LCG:
 * - windows of 1..48 values (k <= 16: blocks of four pixels; 17..32: three; 33..48: two), 49
 *   (the next path), windows whose 16-value groups span more than 255 bytes (not gathered);
 * - 3x3 stride 2 with padding only after (TF SAME on an even size) and on both sides, 3x3
 *   stride 1, dilation 2, 1x3 / 3x1 / 2x2 / 4x4 windows (zoo gcn's 3x1 over 12 and 16
 *   channels), 1x1 over 8 / 16 / 17 / 32 / 33 channels;
 * - input offsets 0, 1, 128 (a padded tap holds -128) and -127; output channels 1..17 (4-lane
 *   tails), pixel counts that leave 1-3 pixels in the last block; bias or none;
 *   per-channel shifts -14..+1 and a narrow activation range;
 * - outputs slid below their input in one buffer as closely as raster order allows (the
 *   planner's slides), plus a few bytes more.
 * main returns the number of mismatching outputs (0: QEMU exits 0). */
#include <stdint.h>

#include "fe_fixedpoint.h"
#include "fe_kernels.h"
#include "semihost.h"

static uint32_t lcg_state = 20240611u;

static int8_t next_s8(void) {
  lcg_state = lcg_state * 1664525u + 1013904223u;
  return (int8_t)(lcg_state >> 24);
}

#define MAX_IN 4096
#define MAX_OUT 4096
#define MAX_W 2048
#define MAX_OC 32

static int8_t pristine[MAX_IN], buf[MAX_IN + MAX_OUT + 64], w[MAX_W];
static int32_t bias[MAX_OC], mult[MAX_OC], shift[MAX_OC];

typedef struct {
  int32_t in_h, in_w, in_c, out_c;
  int32_t fh, fw, stride, dil, pad_h, pad_w, pad_after; /* pad_after: extra rows / cols */
  int32_t x_off;
} conv_case;

static void setup(const conv_case *c, fe_conv_params *p) {
  const fe_conv_params z = {0};
  *p = z;
  p->in_h = c->in_h;
  p->in_w = c->in_w;
  p->in_c = c->in_c;
  p->out_c = c->out_c;
  p->filter_h = c->fh;
  p->filter_w = c->fw;
  p->stride_h = p->stride_w = c->stride;
  p->dilation_h = p->dilation_w = c->dil;
  p->pad_h = c->pad_h;
  p->pad_w = c->pad_w;
  p->out_h = (c->in_h + c->pad_h + c->pad_after - (c->fh - 1) * c->dil - 1) / c->stride + 1;
  p->out_w = (c->in_w + c->pad_w + c->pad_after - (c->fw - 1) * c->dil - 1) / c->stride + 1;
  p->depth_multiplier = 1;
  p->input_offset = c->x_off;
  p->output_offset = (c->out_c & 1) ? -128 : 5;
  p->multiplier = mult;
  p->shift = shift;
  p->act_min = (c->out_c % 3 == 0) ? -60 : -128;
  p->act_max = (c->out_c % 3 == 0) ? 90 : 127;
}

/* lowest input byte (offset from the input) output pixel pix reads; in_bytes when none */
static int32_t first_read(const fe_conv_params *p, int32_t pix) {
  const int32_t oy = pix / p->out_w, ox = pix % p->out_w;
  int32_t fy, fx;
  for (fy = 0; fy < p->filter_h; ++fy) {
    const int32_t iy = oy * p->stride_h - p->pad_h + fy * p->dilation_h;
    for (fx = 0; fx < p->filter_w; ++fx) {
      const int32_t ix = ox * p->stride_w - p->pad_w + fx * p->dilation_w;
      if (iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w) {
        return (iy * p->in_w + ix) * p->in_c;
      }
    }
  }
  return p->in_h * p->in_w * p->in_c;
}

/* Runs one case with the input `slide` bytes above the output (-1: disjoint buffers) and
 * compares every output with the naive loop over the pristine input. */
static int conv_run(const conv_case *c, int32_t slide, int use_bias) {
  fe_conv_params p;
  int32_t i, oy, ox, oc, fy, fx, ic, in_bytes, out_bytes, bad = 0;
  int8_t *in, *out;
  setup(c, &p);
  in_bytes = p.in_h * p.in_w * p.in_c;
  out_bytes = p.out_h * p.out_w * p.out_c;
  if (in_bytes > MAX_IN || out_bytes > MAX_OUT || p.out_c > MAX_OC ||
      p.out_c * p.filter_h * p.filter_w * p.in_c > MAX_W) {
    semihost_write0("conv mve case too large\n");
    return 1;
  }
  for (i = 0; i < in_bytes; ++i) pristine[i] = next_s8();
  for (i = 0; i < p.out_c * p.filter_h * p.filter_w * p.in_c; ++i) w[i] = next_s8();
  for (oc = 0; oc < p.out_c; ++oc) {
    bias[oc] = (int32_t)next_s8() * 97;
    mult[oc] = (oc % 5 == 2) ? 0x7FFFFFFF
                             : (int32_t)(0x40000000u + ((uint32_t)(uint8_t)next_s8() << 22));
    shift[oc] = -9 - (oc % 6) + (oc == 3 ? 10 : 0);
  }
  if (slide < 0) {
    in = buf;
    out = buf + MAX_IN + 16;
  } else {
    out = buf;
    in = buf + slide;
  }
  for (i = 0; i < in_bytes; ++i) in[i] = pristine[i];
  fe_conv2d(&p, in, w, use_bias ? bias : 0, out);
  for (oy = 0; oy < p.out_h; ++oy) {
    for (ox = 0; ox < p.out_w; ++ox) {
      for (oc = 0; oc < p.out_c; ++oc) {
        int32_t acc = use_bias ? bias[oc] : 0;
        for (fy = 0; fy < p.filter_h; ++fy) {
          for (fx = 0; fx < p.filter_w; ++fx) {
            const int32_t iy = oy * p.stride_h - p.pad_h + fy * p.dilation_h;
            const int32_t ix = ox * p.stride_w - p.pad_w + fx * p.dilation_w;
            if (iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w) continue;
            for (ic = 0; ic < p.in_c; ++ic) {
              acc += ((int32_t)pristine[(iy * p.in_w + ix) * p.in_c + ic] + p.input_offset) *
                     w[((oc * p.filter_h + fy) * p.filter_w + fx) * p.in_c + ic];
            }
          }
        }
        acc = fe_clamp(fe_mbqm(acc, mult[oc], shift[oc]) + p.output_offset, p.act_min,
                       p.act_max);
        bad += out[(oy * p.out_w + ox) * p.out_c + oc] != (int8_t)acc;
      }
    }
  }
  if (bad != 0) semihost_write0(slide < 0 ? "conv mve mismatch\n" : "conv mve slide mismatch\n");
  return bad;
}

/* Smallest input start above the output at which the planner lets the output slide
 * (export/planner/overlap.py): every output byte written so far lies below every input byte
 * still to be read, with outputs in NHWC raster order; an output pixel's later channels still
 * read its own window. */
static int32_t min_slide(const conv_case *c) {
  fe_conv_params p;
  int32_t pix, base = 0, pixels, lo;
  static int32_t suffix_lo[MAX_OUT];
  setup(c, &p);
  pixels = p.out_h * p.out_w;
  lo = p.in_h * p.in_w * p.in_c;
  for (pix = pixels - 1; pix >= 0; --pix) {
    const int32_t f = first_read(&p, pix);
    if (f < lo) lo = f;
    suffix_lo[pix] = lo;
  }
  for (pix = 0; pix < pixels; ++pix) {
    const int32_t later = pix + 1 < pixels ? suffix_lo[pix + 1] : p.in_h * p.in_w * p.in_c;
    if (p.out_c > 1 && pix * p.out_c + p.out_c - 1 - suffix_lo[pix] > base) {
      base = pix * p.out_c + p.out_c - 1 - suffix_lo[pix];
    }
    if ((pix + 1) * p.out_c - later > base) base = (pix + 1) * p.out_c - later;
  }
  return base;
}

static const conv_case cases[] = {
    /* in_h in_w in_c out_c fh fw s dil pad_h pad_w after x_off */
    {24, 24, 3, 8, 3, 3, 2, 1, 0, 0, 1, 1},    /* zoo cnn's first layer: pad after only */
    {9, 7, 3, 5, 3, 3, 2, 1, 1, 1, 1, 128},    /* pads on both sides, 5 channels */
    {6, 5, 3, 7, 3, 3, 1, 1, 1, 1, 1, -127},   /* k = 27, 7 channels */
    {5, 5, 1, 17, 3, 3, 1, 1, 1, 1, 1, 128},   /* k = 9, 17 channels */
    {7, 6, 2, 4, 3, 3, 1, 1, 1, 1, 1, 0},      /* k = 18 */
    {8, 8, 3, 6, 3, 3, 1, 2, 2, 2, 2, 3},      /* dilation 2 */
    {6, 9, 5, 3, 1, 3, 1, 1, 0, 1, 1, 128},    /* 1x3, k = 15 */
    {9, 4, 8, 9, 3, 1, 1, 1, 1, 0, 1, -5},     /* 3x1, k = 24 */
    {8, 6, 4, 10, 2, 2, 2, 1, 0, 0, 0, 128},   /* 2x2 stride 2, k = 16 */
    {10, 10, 8, 16, 1, 1, 1, 1, 0, 0, 0, 0},   /* zoo cnn's pointwise */
    {5, 7, 16, 12, 1, 1, 1, 1, 0, 0, 0, 128},  /* 1x1, k = 16 */
    {3, 5, 17, 6, 1, 1, 1, 1, 0, 0, 0, -1},    /* 1x1, k = 17 */
    {4, 5, 32, 11, 1, 1, 2, 1, 0, 0, 0, 0},    /* 1x1 stride 2, k = 32 */
    {4, 5, 33, 5, 1, 1, 1, 1, 0, 0, 0, 7},     /* 1x1, k = 33: two pixels a block */
    {11, 13, 12, 12, 3, 1, 2, 1, 0, 0, 0, 0},  /* zoo gcn's 3x1 stride 2, k = 36 */
    {7, 13, 16, 16, 3, 1, 1, 1, 1, 0, 1, 128}, /* zoo gcn's 3x1 SAME, k = 48 */
    {5, 4, 3, 9, 4, 4, 1, 1, 2, 1, 1, -127},   /* 4x4, k = 48, groups across rows */
    {5, 5, 7, 6, 1, 7, 1, 1, 0, 3, 3, 1},      /* 1x7, k = 49: the next path */
    {7, 30, 12, 5, 3, 1, 1, 1, 1, 0, 1, 128},  /* a group spanning 363 bytes: not gathered */
    {5, 30, 2, 3, 3, 3, 1, 1, 1, 1, 1, 128},   /* window beyond 255 bytes: not gathered */
    {1, 1, 3, 1, 3, 3, 1, 1, 1, 1, 1, 128},    /* one pixel, one channel, all border */
};

int main(void) {
  int bad = 0;
  int32_t i;
  for (i = 0; i < (int32_t)(sizeof cases / sizeof cases[0]); ++i) {
    const int32_t s = min_slide(&cases[i]);
    bad += conv_run(&cases[i], -1, i & 1);
    bad += conv_run(&cases[i], -1, !(i & 1));
    bad += conv_run(&cases[i], s, 1);
    bad += conv_run(&cases[i], s + 3, 0);
  }
  semihost_write0(bad == 0 ? "conv mve board cases: all equal\n"
                           : "conv mve board cases: MISMATCH\n");
  return bad;
}
