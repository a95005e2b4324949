/* fe_quantize_f32 (no libm) against the roundf formula TFLite uses, on many float32 values:
 * ties at every .5 across several binades, neighbours of the ties, random values, saturation.
 * Prints one line per mismatch and "ok N"; exit status = mismatches (capped at 100). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fe_kernels.h"

/* TFLite's formula; beyond int32 (where its cast is undefined) the saturated int8 */
static int reference(float x, float scale, int32_t zp) {
  const float r = roundf(x / scale);
  const int32_t q = r >= 2147483648.0f ? 127 : (r < -2147483648.0f ? -128 : (int32_t)r + zp);
  return q < -128 ? -128 : (q > 127 ? 127 : q);
}

int main(void) {
  static float xs[4096];
  static int8_t out[4096];
  const float scales[3] = {1.0f, 0.0390625f, 0.3f};
  const int32_t zps[3] = {0, -7, 11};
  uint32_t s = 99u;
  int bad = 0;
  int n = 0;
  int i;
  int c;
  for (i = 0; i < 1024; ++i) { /* ties k + 0.5 and their float neighbours, both signs */
    const float t = (float)(i - 512) * 0.25f + 0.5f;
    xs[n++] = t;
    xs[n++] = nextafterf(t, 1e9f);
    xs[n++] = nextafterf(t, -1e9f);
  }
  while (n < 4080) {
    float f;
    s = s * 1664525u + 1013904223u;
    memcpy(&f, &s, sizeof f);
    xs[n++] = isfinite(f) && fabsf(f) < 1e6f ? f : (float)((int32_t)s >> 20) / 16.0f;
  }
  xs[n++] = 1e30f;
  xs[n++] = -1e30f;
  xs[n++] = 0.49999997f;
  xs[n++] = -0.49999997f;
  for (c = 0; c < 3; ++c) {
    const fe_affine_params p = {n, scales[c], zps[c]};
    fe_quantize_f32(&p, xs, out);
    for (i = 0; i < n; ++i) {
      if (reference(xs[i], scales[c], zps[c]) != out[i] && bad++ < 100) {
        printf("FAIL x=%a scale=%a zp=%d: found %d, expected %d\n", (double)xs[i],
               (double)scales[c], (int)zps[c], out[i], reference(xs[i], scales[c], zps[c]));
      }
    }
  }
  printf("ok %d\n", 3 * n - bad);
  return bad > 100 ? 100 : bad;
}
