/* Helium (MVE, Cortex-M55) planes of the strided copy (copy.c): contiguous rows as 16-byte
 * predicated vector loads and stores, and int8 transposes / strided gathers as VLDRB gathers
 * (one output row at a time, raster order: safe under the planner's slides) or VSTRB scatters
 * (one input row at a time into up to 16 output rows: disjoint planes only, the caller says
 * which). Byte offsets of a 16-lane gather or scatter are 8-bit, so the stride between lanes
 * must be at most 17 bytes; longer strides gather 8 lanes with 16-bit offsets. Compiled only
 * with FE_KERNELS_MVE.
 */
#ifndef FE_COPY_MVE_H
#define FE_COPY_MVE_H

#include <stdint.h>

#include "fe_kernels.h"

#if FE_KERNELS_MVE
#include <arm_mve.h>

/* rows of n contiguous bytes; each vector is loaded before it is stored, front to back */
static inline void fe_copy_runs_mve(const uint8_t *in, int32_t is, uint8_t *out, int32_t os,
                                    int32_t rows, int32_t n) {
  int32_t r, k;
  for (r = 0; r < rows; ++r, in += is, out += os) {
    for (k = 0; k < n; k += 16) {
      const mve_pred16_t p = vctp8q((uint32_t)(n - k));
      vstrbq_p_u8(out + k, vldrbq_z_u8(in + k, p), p);
    }
  }
}

/* out row r (rows of them, out_row bytes apart), element f < n = in[r * in_row + f * in_step]:
 * gathers, 16 lanes when in_step <= 17, else 8. Raster order. */
static inline void fe_gather_rows_mve(int32_t rows, int32_t in_row, int32_t n, int32_t in_step,
                                      int32_t out_row, const uint8_t *in, uint8_t *out) {
  int32_t r, f;
  if (in_step <= 17) {
    const uint8x16_t offs = vmulq_n_u8(vidupq_n_u8(0u, 1), (uint8_t)in_step);
    for (r = 0; r < rows; ++r, in += in_row, out += out_row) {
      for (f = 0; f < n; f += 16) {
        const mve_pred16_t p = vctp8q((uint32_t)(n - f));
        vstrbq_p_u8(out + f, vldrbq_gather_offset_z_u8(in + f * in_step, offs, p), p);
      }
    }
    return;
  }
  {
    const uint16x8_t offs = vmulq_n_u16(vidupq_n_u16(0u, 1), (uint16_t)in_step);
    for (r = 0; r < rows; ++r, in += in_row, out += out_row) {
      for (f = 0; f < n; f += 8) {
        const mve_pred16_t p = vctp16q((uint32_t)(n - f));
        vstrbq_p_u16(out + f, vldrbq_gather_offset_z_u16(in + f * in_step, offs, p), p);
      }
    }
  }
}

/* The transpose of fe_gather_rows_mve with in_row == 1, by input rows: input row c (n of
 * them, in_step bytes apart) holds element c of every output row; 16 of them are loaded and
 * scattered to out[r * out_row + c] (out_row <= 17). Up to sixteen output rows are written at a
 * time: disjoint planes only. */
static inline void fe_scatter_cols_mve(int32_t rows, int32_t n, int32_t in_step, int32_t out_row,
                                       const uint8_t *in, uint8_t *out) {
  const uint8x16_t offs = vmulq_n_u8(vidupq_n_u8(0u, 1), (uint8_t)out_row);
  int32_t r, c;
  for (c = 0; c < n; ++c, in += in_step) {
    for (r = 0; r < rows; r += 16) {
      const mve_pred16_t p = vctp8q((uint32_t)(rows - r));
      vstrbq_scatter_offset_p_u8(out + r * out_row + c, offs, vldrbq_z_u8(in + r, p), p);
    }
  }
}

/* One int8 gather plane (see copy.c); scatters when the caller allows them and they take
 * fewer vector steps. Returns 0 (not handled) when 16-bit gather offsets cannot hold the
 * stride. */
static inline int fe_copy_gather_mve(int32_t rows, int32_t in_row, int32_t n, int32_t in_step,
                                     int32_t out_row, const uint8_t *in, uint8_t *out,
                                     int may_scatter) {
  const int32_t lanes = in_step <= 17 ? 16 : 8;
  const int32_t gathers = rows * ((n + lanes - 1) / lanes);
  const int32_t scatters = n * ((rows + 15) / 16);
  if (in_step > 65535 / 7) {
    return 0;
  }
  if (may_scatter && out_row <= 17 && scatters < gathers) {
    fe_scatter_cols_mve(rows, n, in_step, out_row, in, out);
    return 1;
  }
  fe_gather_rows_mve(rows, in_row, n, in_step, out_row, in, out);
  return 1;
}
#endif

#endif
