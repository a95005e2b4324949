/* AVERAGE_POOL_2D and MAX_POOL_2D int8 (input and output share scale and zero point). */
#include "fe_internal.h"

static void window(const fe_pool_params *p, int32_t oy, int32_t ox, int32_t *y0, int32_t *y1,
                   int32_t *x0, int32_t *x1) {
  const int32_t iy = oy * p->stride_h - p->pad_h;
  const int32_t ix = ox * p->stride_w - p->pad_w;
  *y0 = iy < 0 ? 0 : iy;
  *x0 = ix < 0 ? 0 : ix;
  *y1 = iy + p->filter_h > p->in_h ? p->in_h : iy + p->filter_h;
  *x1 = ix + p->filter_w > p->in_w ? p->in_w : ix + p->filter_w;
}

/* Channels a pass accumulates at once: every window tap then adds a contiguous run of them
 * (the compiler vectorises it) instead of walking the window once per channel. A pass reads its
 * channels' taps before writing them, and passes go up the channels, so outputs are still
 * written in NHWC order after everything they depend on was read (the planner's slides). */
#define FE_POOL_BLOCK 64

void fe_avg_pool(const fe_pool_params *p, const int8_t *input, int8_t *output) {
  const int32_t ch = p->channels;
  int32_t acc[FE_POOL_BLOCK];
  int32_t b, oy, ox, c, c0, cn, y, x, y0, y1, x0, x1;
  for (b = 0; b < p->batches; ++b) {
    const int8_t *in = input + b * p->in_h * p->in_w * ch;
    for (oy = 0; oy < p->out_h; ++oy) {
      for (ox = 0; ox < p->out_w; ++ox) {
        int8_t *out = output + ((b * p->out_h + oy) * p->out_w + ox) * ch;
        int32_t count;
        window(p, oy, ox, &y0, &y1, &x0, &x1);
        count = (y1 > y0 && x1 > x0) ? (y1 - y0) * (x1 - x0) : 0;
        for (c0 = 0; c0 < ch; c0 += FE_POOL_BLOCK) {
          cn = ch - c0 < FE_POOL_BLOCK ? ch - c0 : FE_POOL_BLOCK;
          for (c = 0; c < cn; ++c) {
            acc[c] = 0;
          }
          for (y = y0; y < y1; ++y) {
            for (x = x0; x < x1; ++x) {
              const int8_t *tap = in + (y * p->in_w + x) * ch + c0;
              for (c = 0; c < cn; ++c) {
                acc[c] += tap[c];
              }
            }
          }
          for (c = 0; c < cn; ++c) {
            int32_t a = acc[c];
            if (count == 0) {
              out[c0 + c] = 0;
              continue;
            }
            a = a > 0 ? (a + count / 2) / count : (a - count / 2) / count;
            out[c0 + c] = (int8_t)fe_clamp(a, p->act_min, p->act_max);
          }
        }
      }
    }
  }
}

void fe_max_pool(const fe_pool_params *p, const int8_t *input, int8_t *output) {
  const int32_t ch = p->channels;
  int8_t best[FE_POOL_BLOCK];
  int32_t b, oy, ox, c, c0, cn, y, x, y0, y1, x0, x1;
  for (b = 0; b < p->batches; ++b) {
    const int8_t *in = input + b * p->in_h * p->in_w * ch;
    for (oy = 0; oy < p->out_h; ++oy) {
      for (ox = 0; ox < p->out_w; ++ox) {
        int8_t *out = output + ((b * p->out_h + oy) * p->out_w + ox) * ch;
        window(p, oy, ox, &y0, &y1, &x0, &x1);
        for (c0 = 0; c0 < ch; c0 += FE_POOL_BLOCK) {
          cn = ch - c0 < FE_POOL_BLOCK ? ch - c0 : FE_POOL_BLOCK;
          for (c = 0; c < cn; ++c) {
            best[c] = -128;
          }
          for (y = y0; y < y1; ++y) {
            for (x = x0; x < x1; ++x) {
              const int8_t *tap = in + (y * p->in_w + x) * ch + c0;
              for (c = 0; c < cn; ++c) {
                best[c] = tap[c] > best[c] ? tap[c] : best[c];
              }
            }
          }
          for (c = 0; c < cn; ++c) {
            out[c0 + c] = (int8_t)fe_clamp(best[c], p->act_min, p->act_max);
          }
        }
      }
    }
  }
}
