/* TinyEngine's in-place DEPTHWISE_CONV_2D on a board (on Cortex-M55 fe_dw_mve.h's Helium
 * families: the padded plane from 32 output pixels, 16 channels as lanes below; elsewhere the
 * DSP quads or the portable loop)
 * against a naive int32 loop and TFLite's two-step requantization (fe_mbqm), on random int8
 * data from a fixed LCG:
 * - 3x3 / 5x5 / 7x7 / 3x5 / 1x1 filters, strides 1, 2 and 3 (3: the generic phase count),
 *   dilation_h 1 and 2 (dilation_w 1), SAME, VALID, asymmetric explicit pads (a folded PAD)
 *   and a VALID window that leaves the last input rows / columns unread;
 * - output rows of 1..30 columns (blocks of 4..24 lanes, 1-3 lanes past the row, several
 *   blocks per row), planes from 1 to 900 pixels (both sides of FE_MVE_DW_MIN_PLANE);
 * - 1, 3, 16, 17 and 33 channels (none or partial 16-channel groups), input offsets 128
 *   (padded taps hold -128), -5 and 0, bias or none, shifts -13..+2 (left shifts too),
 *   multipliers near 2^30 and 2^31 - 1, a narrow and the full activation range;
 * - the scratch sized exactly as export/scratch.py reserves it (max of the output plane, the
 *   padded plane and 16 output channels on small planes) and the input buffer, each followed by canary bytes that must survive.
 * main returns the number of mismatches (0: QEMU exits 0). */
#include <stdint.h>
#include <string.h>

#include "fe_fixedpoint.h"
#include "fe_kernels.h"
#include "semihost.h"

static uint32_t lcg_state = 20261206u;

static int8_t next_s8(void) {
  lcg_state = lcg_state * 1664525u + 1013904223u;
  return (int8_t)(lcg_state >> 24);
}

#define MAX_IN 12000
#define MAX_W (49 * 40)
#define MAX_C 40
#define MAX_SCRATCH 2048
#define CANARY 16

static int8_t pristine[MAX_IN], buf[MAX_IN + CANARY], w[MAX_W];
static int8_t scratch[MAX_SCRATCH + CANARY + 1];
static int32_t bias[MAX_C], mult[MAX_C], shift[MAX_C];

typedef struct {
  int32_t in_h, in_w, ch, fh, fw, stride, dil_h;
  int32_t pads[4]; /* top, bottom, left, right */
  int32_t x_off;
} dw_case;

/* export/scratch.py's reservation: max(out_h * out_w, padded plane + 3 stride_w, and 16 out_h *
 * out_w below 32 output pixels). */
static int32_t scratch_size(const fe_conv_params *p) {
  const int32_t rows = (p->out_h - 1) * p->stride_h + (p->filter_h - 1) * p->dilation_h + 1;
  const int32_t cols = (p->out_w - 1) * p->stride_w + (p->filter_w - 1) * p->dilation_w + 1;
  const int32_t plane = rows * cols + 3 * p->stride_w;
  const int32_t out = p->out_h * p->out_w;
  const int32_t small = out < 32 ? 16 * out : 0;
  const int32_t most = plane > out ? plane : out;
  return most > small ? most : small;
}

static int8_t reference(const fe_conv_params *p, const int32_t *b, int32_t oy, int32_t ox,
                        int32_t c) {
  int32_t acc = b != NULL ? b[c] : 0;
  int32_t fy, fx;
  for (fy = 0; fy < p->filter_h; ++fy) {
    for (fx = 0; fx < p->filter_w; ++fx) {
      const int32_t iy = oy * p->stride_h - p->pad_h + fy * p->dilation_h;
      const int32_t ix = ox * p->stride_w - p->pad_w + fx;
      if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) continue;
      acc += ((int32_t)pristine[(iy * p->in_w + ix) * p->in_c + c] + p->input_offset) *
             w[(fy * p->filter_w + fx) * p->in_c + c];
    }
  }
  acc = fe_mbqm(acc, mult[c], shift[c]) + p->output_offset;
  return (int8_t)fe_clamp(acc, p->act_min, p->act_max);
}

static int run_case(const dw_case *k, int variant) {
  fe_conv_params p = {0};
  const int32_t *b = (variant & 1) ? NULL : bias;
  int32_t i, oy, ox, c, size, bad = 0;
  p.in_h = k->in_h;
  p.in_w = k->in_w;
  p.in_c = p.out_c = k->ch;
  p.filter_h = k->fh;
  p.filter_w = k->fw;
  p.stride_h = p.stride_w = k->stride;
  p.dilation_h = k->dil_h;
  p.dilation_w = 1;
  p.pad_h = k->pads[0];
  p.pad_w = k->pads[2];
  p.out_h = (k->in_h + k->pads[0] + k->pads[1] - (k->fh - 1) * k->dil_h - 1) / k->stride + 1;
  p.out_w = (k->in_w + k->pads[2] + k->pads[3] - k->fw) / k->stride + 1;
  p.depth_multiplier = 1;
  p.input_offset = k->x_off;
  p.output_offset = (variant & 2) ? -128 : 7;
  p.act_min = (variant & 2) ? -128 : -90;
  p.act_max = (variant & 2) ? 127 : 70;
  p.multiplier = mult;
  p.shift = shift;
  size = scratch_size(&p);
  if (p.out_h * p.out_w > p.in_h * p.in_w || size > MAX_SCRATCH ||
      p.in_h * p.in_w * p.in_c > MAX_IN || p.filter_h * p.filter_w * p.in_c > MAX_W) {
    semihost_write0("dw inplace case outside the test's buffers\n");
    return 1;
  }
  for (i = 0; i < p.in_h * p.in_w * p.in_c; ++i) buf[i] = pristine[i] = next_s8();
  memset(buf + p.in_h * p.in_w * p.in_c, 0x5A, CANARY);
  for (i = 0; i < p.filter_h * p.filter_w * p.in_c; ++i) w[i] = next_s8();
  for (c = 0; c < p.in_c; ++c) {
    bias[c] = (int32_t)next_s8() * 211;
    mult[c] = (c % 3 == 0) ? 0x7FFFFFFF : (int32_t)(0x40000000u + ((uint32_t)(uint8_t)next_s8() << 21));
    shift[c] = (c % 7 == 3) ? 2 : (c % 7 == 5) ? 0 : -6 - (int32_t)((c + variant) % 8);
  }
  /* the scratch at an odd address, canaries after its last byte */
  memset(scratch, 0x5A, sizeof scratch);
  fe_depthwise_conv2d_inplace(&p, buf, w, b, scratch + 1);
  for (i = 0; i < CANARY; ++i) bad += scratch[1 + size + i] != 0x5A;
  if (bad != 0) semihost_write0("dw inplace wrote past its scratch\n");
  for (i = 0; i < CANARY; ++i) bad += buf[p.in_h * p.in_w * p.in_c + i] != 0x5A;
  if (bad != 0) semihost_write0("dw inplace wrote past its buffer\n");
  for (oy = 0; oy < p.out_h; ++oy) {
    for (ox = 0; ox < p.out_w; ++ox) {
      for (c = 0; c < p.in_c; ++c) {
        bad += buf[(oy * p.out_w + ox) * p.in_c + c] != reference(&p, b, oy, ox, c);
      }
    }
  }
  if (bad != 0) semihost_write0("dw inplace mismatch\n");
  return bad;
}

static const dw_case cases[] = {
    /* 3x3 SAME stride 1: rows of 20 (one block of 20 lanes), 30 (24 + 6), 9, 5, 3 */
    {20, 20, 17, 3, 3, 1, 1, {1, 1, 1, 1}, 128},
    {12, 30, 3, 3, 3, 1, 1, {1, 1, 1, 1}, -5},
    {9, 9, 33, 3, 3, 1, 1, {1, 1, 1, 1}, 0},
    {8, 5, 16, 3, 3, 1, 1, {1, 1, 1, 1}, 128},
    {3, 3, 17, 3, 3, 1, 1, {1, 1, 1, 1}, 128},
    /* VALID (a patch of the TinyEngine models), stride 2 VALID leaving a column unread */
    {13, 13, 16, 3, 3, 1, 1, {0, 0, 0, 0}, 128},
    {12, 11, 17, 3, 3, 2, 1, {0, 0, 0, 0}, 128},
    {21, 22, 3, 3, 3, 2, 1, {0, 0, 0, 0}, -5},
    /* asymmetric explicit pads (folded PAD), strides 1 and 2 */
    {12, 13, 17, 3, 3, 1, 1, {0, 1, 1, 0}, 128},
    {11, 10, 16, 3, 3, 2, 1, {0, 1, 0, 1}, 128},
    {14, 15, 3, 3, 3, 2, 1, {1, 0, 1, 0}, 0},
    /* 5x5 and 7x7, strides 1 and 2, SAME-like pads */
    {10, 10, 17, 5, 5, 1, 1, {2, 2, 2, 2}, 128},
    {11, 13, 3, 5, 5, 2, 1, {2, 2, 2, 2}, -5},
    {20, 20, 3, 7, 7, 2, 1, {3, 3, 3, 3}, 128},
    {10, 10, 17, 7, 7, 2, 1, {3, 3, 3, 3}, 128},
    {8, 9, 16, 7, 7, 1, 1, {3, 3, 3, 3}, 0},
    {6, 6, 33, 7, 7, 1, 1, {3, 3, 3, 3}, 128},
    /* non-square, stride 3 (three phases), dilation_h 2, 1x1 */
    {12, 17, 3, 3, 5, 1, 1, {1, 1, 2, 2}, 128},
    {16, 25, 17, 5, 5, 3, 1, {2, 2, 2, 2}, -5},
    {14, 11, 16, 3, 3, 1, 2, {2, 2, 1, 1}, 128},
    {9, 10, 1, 1, 1, 1, 1, {0, 0, 0, 0}, 128},
    /* small planes (16 channels as lanes): 5x5 / 3x3 / 3x5 outputs, 7x7 / 5x5 / 3x3, 4-lane
     * tails (3, 17, 33 channels), stride 2, dilation_h 2 */
    {5, 5, 33, 7, 7, 1, 1, {3, 3, 3, 3}, 128},
    {10, 10, 17, 7, 7, 2, 1, {3, 3, 3, 3}, -5},
    {11, 11, 16, 3, 3, 2, 1, {0, 0, 0, 0}, 128},
    {3, 3, 40, 3, 3, 1, 1, {1, 1, 1, 1}, 0},
    {5, 5, 3, 5, 5, 2, 1, {2, 2, 2, 2}, 128},
    {6, 5, 17, 3, 3, 1, 2, {2, 2, 1, 1}, 128},
    /* wide: a 30x30 plane, several blocks a row */
    {30, 30, 3, 3, 3, 1, 1, {1, 1, 1, 1}, 128},
};

int main(void) {
  int bad = 0;
  int32_t i, v;
  for (i = 0; i < (int32_t)(sizeof cases / sizeof cases[0]); ++i) {
    for (v = 0; v < 4; ++v) {
      bad += run_case(&cases[i], v);
    }
  }
  semihost_write0(bad == 0 ? "dw inplace board cases: all equal\n"
                           : "dw inplace board cases: MISMATCH\n");
  return bad;
}
