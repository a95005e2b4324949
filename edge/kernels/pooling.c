/* AVERAGE_POOL_2D and MAX_POOL_2D int8 (input and output share scale and zero point).
 *
 * One loop nest for both: output pixels in raster order, each pixel's window clipped to the
 * input, and one pixel kernel that reduces every tap of the window over all channels, several
 * channels per instruction:
 *  - Helium (Cortex-M55): 16 channels a vector for MAX (VMAX.S8), 4 a vector for AVERAGE
 *    (widening loads into int32 lanes; the rounding division as an exact multiply-high, below);
 *  - DSP (Cortex-M4/M7): 4 channels a word; MAX with SSUB8 + SEL (GE flags select the larger
 *    byte), AVERAGE with two SXTAB16 accumulators of two int16 lanes each (even and odd
 *    channels), exact while a window has at most 256 taps; then TFLite's rounding division
 *    per channel;
 *  - portable C (-DFE_KERNELS_PORTABLE, the host, and channels left over): one channel at a
 *    time, TFLite's reference arithmetic.
 * A 1x1 window with unstrided columns is a row copy (pool_rows_1x1).
 * Access order (the planner may slide the output partly below the input, overlap.py's _pool
 * model): a group of channels of a pixel is written after all of its taps were read, groups in
 * channel order, pixels in raster order; i.e. output raster order, each element after its
 * reads.
 */
#include <string.h>

#include "fe_internal.h"

#if FE_KERNELS_ACLE
#include <arm_acle.h>
#endif
#if FE_KERNELS_MVE
#include <arm_mve.h>
#endif

/* One output pixel's window: `in` points at its first tap (top-left, channel 0), ny x nx taps,
 * taps `row` bytes apart vertically and `ch` horizontally. */
typedef struct {
  const int8_t *in;
  int32_t ny, nx, row, ch;
} pool_window;

/* TFLite's rounded average: half away from zero, C division (truncating) by the count. */
static int32_t rounded_div(int32_t sum, int32_t count) {
  return sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
}

/* Channels [c, ch) one at a time (the reference, and the tails of the SIMD paths). */
#if !FE_KERNELS_MVE
static void max_channels(const pool_window *w, int32_t c, int8_t *out, int32_t lo, int32_t hi) {
  int32_t y, x;
  for (; c < w->ch; ++c) {
    int32_t best = -128;
    for (y = 0; y < w->ny; ++y) {
      const int8_t *t = w->in + y * w->row + c;
      for (x = 0; x < w->nx; ++x, t += w->ch) {
        best = *t > best ? *t : best;
      }
    }
    out[c] = (int8_t)fe_clamp(best, lo, hi);
  }
}
#endif

static void avg_channels(const pool_window *w, int32_t c, int8_t *out, int32_t lo, int32_t hi) {
  const int32_t count = w->ny * w->nx;
  int32_t y, x;
  for (; c < w->ch; ++c) {
    int32_t sum = 0;
    for (y = 0; y < w->ny; ++y) {
      const int8_t *t = w->in + y * w->row + c;
      for (x = 0; x < w->nx; ++x, t += w->ch) {
        sum += *t;
      }
    }
    out[c] = (int8_t)fe_clamp(rounded_div(sum, count), lo, hi);
  }
}

#if FE_KERNELS_MVE
/* 16 channels a vector, the last ones predicated. */
static void max_pixel(const pool_window *w, int8_t *out, int32_t lo, int32_t hi) {
  int32_t c, y, x;
  for (c = 0; c < w->ch; c += 16) {
    const mve_pred16_t p = vctp8q((uint32_t)(w->ch - c));
    int8x16_t best = vdupq_n_s8(-128);
    for (y = 0; y < w->ny; ++y) {
      const int8_t *t = w->in + y * w->row + c;
      for (x = 0; x < w->nx; ++x, t += w->ch) {
        best = vmaxq_s8(best, vldrbq_z_s8(t, p));
      }
    }
    best = vminq_s8(vmaxq_s8(best, vdupq_n_s8((int8_t)lo)), vdupq_n_s8((int8_t)hi));
    vstrbq_p_s8(out + c, best, p);
  }
}

/* 4 channels a vector in int32 lanes. The rounding division: with n = |sum| + count / 2 and
 * m = ceil(2^32 / count) = (2^32 + e) / count (0 <= e < count), n * m / 2^32 = n / count +
 * n * e / (count * 2^32), whose floor is floor(n / count) while n * e < 2^32: n < 128 * count +
 * count and e < count, so any count up to 4096 (the caller checks). The sign is put back after
 * (TFLite's truncating division of sum -/+ count / 2 is symmetric). */
static void avg_pixel(const pool_window *w, int8_t *out, int32_t lo, int32_t hi) {
  const int32_t count = w->ny * w->nx;
  const uint32_t m = count > 1 ? (uint32_t)((0xFFFFFFFFu / (uint32_t)count) + 1u) : 0u;
  int32_t c, y, x;
  for (c = 0; c < w->ch; c += 4) {
    const mve_pred16_t p = vctp32q((uint32_t)(w->ch - c));
    int32x4_t sum = vdupq_n_s32(0);
    uint32x4_t q;
    int32x4_t avg;
    for (y = 0; y < w->ny; ++y) {
      const int8_t *t = w->in + y * w->row + c;
      for (x = 0; x < w->nx; ++x, t += w->ch) {
        sum = vaddq_s32(sum, vldrbq_z_s32(t, p));
      }
    }
    q = vreinterpretq_u32_s32(vaddq_n_s32(vabsq_s32(sum), count / 2));
    q = count > 1 ? vmulhq_u32(q, vdupq_n_u32(m)) : q;
    avg = vreinterpretq_s32_u32(q);
    avg = vpselq_s32(vnegq_s32(avg), avg, vcmpltq_n_s32(sum, 0));
    avg = vminq_s32(vmaxq_s32(avg, vdupq_n_s32(lo)), vdupq_n_s32(hi));
    vstrbq_p_s32(out + c, avg, p);
  }
}
#define FE_AVG_PIXEL_MAX_TAPS 4096
#elif FE_KERNELS_ACLE
FE_INLINE uint32_t ld32(const int8_t *p) {
  uint32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* 4 channels a word; SSUB8 sets GE[k] where byte k of a >= byte k of b, SEL takes those bytes
 * from its first operand. */
FE_INLINE uint32_t max4(uint32_t a, uint32_t b) {
  (void)__ssub8(a, b);
  return __sel(a, b);
}

FE_INLINE uint32_t min4(uint32_t a, uint32_t b) {
  (void)__ssub8(a, b);
  return __sel(b, a);
}

static void max_pixel(const pool_window *w, int8_t *out, int32_t lo, int32_t hi) {
  const uint32_t lo4 = 0x01010101u * (uint8_t)lo, hi4 = 0x01010101u * (uint8_t)hi;
  int32_t c, y, x;
  for (c = 0; c + 4 <= w->ch; c += 4) {
    uint32_t best = 0x80808080u;
    for (y = 0; y < w->ny; ++y) {
      const int8_t *t = w->in + y * w->row + c;
      for (x = 0; x < w->nx; ++x, t += w->ch) {
        best = max4(ld32(t), best);
      }
    }
    best = min4(max4(best, lo4), hi4);
    memcpy(out + c, &best, sizeof best);
  }
  max_channels(w, c, out, lo, hi);
}

/* 4 channels a word: SXTAB16 adds the sign-extended bytes 0 and 2 (or 1 and 3, after a
 * rotation by 8) to two int16 lanes; at most 256 taps keep every lane sum in int16. */
static void avg_pixel(const pool_window *w, int8_t *out, int32_t lo, int32_t hi) {
  const int32_t count = w->ny * w->nx;
  int32_t c, y, x;
  for (c = 0; c + 4 <= w->ch; c += 4) {
    uint32_t even = 0, odd = 0;
    for (y = 0; y < w->ny; ++y) {
      const int8_t *t = w->in + y * w->row + c;
      for (x = 0; x < w->nx; ++x, t += w->ch) {
        const uint32_t v = ld32(t);
        even = __sxtab16(even, v);
        odd = __sxtab16(odd, (v >> 8) | (v << 24));
      }
    }
    out[c] = (int8_t)fe_clamp(rounded_div((int16_t)even, count), lo, hi);
    out[c + 1] = (int8_t)fe_clamp(rounded_div((int16_t)odd, count), lo, hi);
    out[c + 2] = (int8_t)fe_clamp(rounded_div((int32_t)even >> 16, count), lo, hi);
    out[c + 3] = (int8_t)fe_clamp(rounded_div((int32_t)odd >> 16, count), lo, hi);
  }
  avg_channels(w, c, out, lo, hi);
}
#define FE_AVG_PIXEL_MAX_TAPS 256
#else
static void max_pixel(const pool_window *w, int8_t *out, int32_t lo, int32_t hi) {
  max_channels(w, 0, out, lo, hi);
}

static void avg_pixel(const pool_window *w, int8_t *out, int32_t lo, int32_t hi) {
  avg_channels(w, 0, out, lo, hi);
}
#define FE_AVG_PIXEL_MAX_TAPS 0x7FFFFFFF
#endif

/* The reference's kernels behind the pixel interface (windows too large for avg_pixel). */
static void avg_pixel_ref(const pool_window *w, int8_t *out, int32_t lo, int32_t hi) {
  avg_channels(w, 0, out, lo, hi);
}

typedef void (*pixel_fn)(const pool_window *w, int8_t *out, int32_t lo, int32_t hi);

/* Every output pixel in raster order: the clipped window, then `pixel` (nothing read for an
 * empty window: MAX gives act_min's clamp of -128, AVERAGE 0, as TFLite Micro). */
static void pool(const fe_pool_params *p, const int8_t *input, int8_t *output, pixel_fn pixel,
                 int average) {
  const int32_t ch = p->channels, row = p->in_w * ch;
  int32_t b, oy, ox;
  for (b = 0; b < p->batches; ++b) {
    const int8_t *in = input + b * p->in_h * row;
    for (oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy = oy * p->stride_h - p->pad_h;
      const int32_t y0 = iy < 0 ? 0 : iy;
      const int32_t y1 = iy + p->filter_h > p->in_h ? p->in_h : iy + p->filter_h;
      int8_t *out = output + (b * p->out_h + oy) * p->out_w * ch;
      for (ox = 0; ox < p->out_w; ++ox, out += ch) {
        const int32_t ix = ox * p->stride_w - p->pad_w;
        const int32_t x0 = ix < 0 ? 0 : ix;
        const int32_t x1 = ix + p->filter_w > p->in_w ? p->in_w : ix + p->filter_w;
        pool_window w;
        if (y1 <= y0 || x1 <= x0) {
          int32_t c;
          for (c = 0; c < ch; ++c) {
            out[c] = (int8_t)(average ? 0 : fe_clamp(-128, p->act_min, p->act_max));
          }
          continue;
        }
        w.in = in + y0 * row + x0 * ch;
        w.ny = y1 - y0;
        w.nx = x1 - x0;
        w.row = row;
        w.ch = ch;
        pixel(&w, out, p->act_min, p->act_max);
      }
    }
  }
}

/* A 1x1 window (a strided subsampling: MAX and AVERAGE alike) over the whole activation
 * range, columns unstrided and unpadded: each output row is one run of an input row, moved
 * with memmove (correct for any overlap of the row with itself; rows in raster order).
 * Returns 0 when the shape is not one of these. */
static int pool_rows_1x1(const fe_pool_params *p, const int8_t *input, int8_t *output,
                         int average) {
  const int32_t row = p->in_w * p->channels, n = p->out_w * p->channels;
  int32_t b, oy;
  if (p->filter_h != 1 || p->filter_w != 1 || p->stride_w != 1 || p->pad_w != 0 ||
      p->out_w > p->in_w || p->act_min != -128 || p->act_max != 127) {
    return 0;
  }
  for (b = 0; b < p->batches; ++b) {
    for (oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy = oy * p->stride_h - p->pad_h;
      int8_t *out = output + (b * p->out_h + oy) * n;
      if (iy < 0 || iy >= p->in_h) {
        memset(out, average ? 0 : -128, (size_t)n); /* empty windows: see pool() */
      } else {
        memmove(out, input + (b * p->in_h + iy) * row, (size_t)n);
      }
    }
  }
  return 1;
}

void fe_avg_pool(const fe_pool_params *p, const int8_t *input, int8_t *output) {
  const int fits = (int64_t)p->filter_h * p->filter_w <= FE_AVG_PIXEL_MAX_TAPS;
  if (!pool_rows_1x1(p, input, output, 1)) {
    pool(p, input, output, fits ? avg_pixel : avg_pixel_ref, 1);
  }
}

void fe_max_pool(const fe_pool_params *p, const int8_t *input, int8_t *output) {
  if (!pool_rows_1x1(p, input, output, 0)) {
    pool(p, input, output, max_pixel, 0);
  }
}
