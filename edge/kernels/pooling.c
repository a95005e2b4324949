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

void fe_avg_pool(const fe_pool_params *p, const int8_t *input, int8_t *output) {
  int32_t b, oy, ox, c, y, x, y0, y1, x0, x1;
  for (b = 0; b < p->batches; ++b) {
    const int8_t *in = input + b * p->in_h * p->in_w * p->channels;
    for (oy = 0; oy < p->out_h; ++oy) {
      for (ox = 0; ox < p->out_w; ++ox) {
        int8_t *out = output + ((b * p->out_h + oy) * p->out_w + ox) * p->channels;
        window(p, oy, ox, &y0, &y1, &x0, &x1);
        for (c = 0; c < p->channels; ++c) {
          int32_t acc = 0;
          int32_t count = 0;
          for (y = y0; y < y1; ++y) {
            for (x = x0; x < x1; ++x) {
              acc += in[(y * p->in_w + x) * p->channels + c];
              ++count;
            }
          }
          if (count == 0) {
            out[c] = 0;
            continue;
          }
          acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
          out[c] = (int8_t)fe_clamp(acc, p->act_min, p->act_max);
        }
      }
    }
  }
}

void fe_max_pool(const fe_pool_params *p, const int8_t *input, int8_t *output) {
  int32_t b, oy, ox, c, y, x, y0, y1, x0, x1;
  for (b = 0; b < p->batches; ++b) {
    const int8_t *in = input + b * p->in_h * p->in_w * p->channels;
    for (oy = 0; oy < p->out_h; ++oy) {
      for (ox = 0; ox < p->out_w; ++ox) {
        int8_t *out = output + ((b * p->out_h + oy) * p->out_w + ox) * p->channels;
        window(p, oy, ox, &y0, &y1, &x0, &x1);
        for (c = 0; c < p->channels; ++c) {
          int32_t best = -128;
          for (y = y0; y < y1; ++y) {
            for (x = x0; x < x1; ++x) {
              const int32_t v = in[(y * p->in_w + x) * p->channels + c];
              best = v > best ? v : best;
            }
          }
          out[c] = (int8_t)fe_clamp(best, p->act_min, p->act_max);
        }
      }
    }
  }
}
