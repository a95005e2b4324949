/* The streaming encoder on a board: hops of frames through enc_stream_invoke() (the generated
 * stream API over the generated model), each hop's outputs from the warm-up on compared with
 * tflite-micro's windowed encoder on the window ending at that hop (computed on the host, in
 * stream_case.h), and each hop's executed instructions (board_ticks under QEMU -icount).
 * Prints "stream board: <mismatching bytes> mismatches, <min> to <max> instructions per hop"
 * and returns the number of mismatching hops (0: QEMU exits 0). */
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "enc_stream.h"
#include "semihost.h"
#include "stream_case.h"

/* text appended at out[*at]. */
static void put_text(char *out, int *at, const char *text) {
  while (*text != '\0') {
    out[(*at)++] = *text++;
  }
}

/* "<text><value>" appended at out[*at]: unsigned decimal, no libc printf on the board. */
static void put(char *out, int *at, const char *text, uint32_t value) {
  char digits[11];
  int n = 0;
  put_text(out, at, text);
  do {
    digits[n++] = (char)('0' + value % 10u);
    value /= 10u;
  } while (value != 0u);
  while (n > 0) {
    out[(*at)++] = digits[--n];
  }
}

int main(void) {
  char line[128];
  int at = 0;
  int bad_hops = 0;
  uint32_t bad_bytes = 0u, least = 0xFFFFFFFFu, most = 0u;
  const int8_t *want = case_expected;
  int j, i;
  board_init();
  if (enc_init() != 0) {
    return 1;
  }
  enc_stream_reset();
  for (j = 0; j < CASE_HOPS; ++j) {
    uint32_t start, spent;
    int status;
    int hop_bad = 0;
    (void)enc_set_input(0, case_frames + (size_t)j * ENC_INPUT0_BYTES);
    start = board_ticks();
    status = enc_stream_invoke();
    spent = board_ticks_to_count(board_ticks() - start);
    least = spent < least ? spent : least;
    most = spent > most ? spent : most;
    hop_bad += status != 0;
    if (j >= CASE_FIRST_COMPARED) {
      for (i = 0; i < ENC_NUM_OUTPUTS; ++i) {
        size_t n = enc_output_bytes(i), k;
        const int8_t *got = enc_output(i);
        for (k = 0; k < n; ++k) {
          bad_bytes += got[k] != want[k];
          hop_bad += got[k] != want[k];
        }
        want += n;
      }
    }
    bad_hops += hop_bad != 0;
  }
  put(line, &at, "stream board: ", bad_bytes);
  put(line, &at, " mismatches, ", least);
  put(line, &at, " to ", most);
  put_text(line, &at, " instructions per hop\n");
  line[at] = '\0';
  semihost_write0(line);
  return bad_hops;
}
