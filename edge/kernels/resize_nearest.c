/* RESIZE_NEAREST_NEIGHBOR (NHWC, any element type): each output pixel copies the depth
 * vector of one input pixel. The source row and column of every output row and column are
 * computed ahead of time by the code generator (TFLite Micro's GetNearestNeighbor, with
 * align_corners / half_pixel_centers, in float32) and arrive as two index tables, so the
 * kernel is one memcpy per output pixel. Not in place: the output must not overlap the input. */
#include <string.h>

#include "fe_internal.h"

void fe_resize_nearest(const fe_resize_nearest_params *p, const void *input, void *output) {
  const uint8_t *src = (const uint8_t *)input;
  uint8_t *dst = (uint8_t *)output;
  const int32_t pixel = p->depth_bytes;
  const int32_t row = p->input_width * pixel;
  int32_t b;
  int32_t y;
  int32_t x;
  for (b = 0; b < p->batches; ++b) {
    const uint8_t *image = src + (size_t)b * (size_t)p->input_height * (size_t)row;
    for (y = 0; y < p->output_height; ++y) {
      const uint8_t *in_row = image + (size_t)p->source_y[y] * (size_t)row;
      for (x = 0; x < p->output_width; ++x) {
        memcpy(dst, in_row + (size_t)p->source_x[x] * (size_t)pixel, (size_t)pixel);
        dst += pixel;
      }
    }
  }
}
