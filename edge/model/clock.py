"""The decoder's clock: where in the hop the next event would fall, as a frame bin.

A decoder that only sees its own token index cannot tell *when* it is in the hop: the time is
the sum of the TIME_SHIFT tokens emitted so far, and attention is bad at summing. Without it
the cross-attention cannot line an onset up with the motion of the frame it belongs to, and a
model learns the music's statistics instead of watching the performer. So the decoder's
position input is the clock: after each input token, the hop time reached so far
(``Σ vocab.TIME_SHIFT_US`` of the time shifts among the inputs, SOS included), as the keypoint
frame it falls in, ``min(floor(t · fps), hop_frames)`` (``hop_frames``: at or past the hop's
end). The full-sequence graph computes it from its input tokens; every caller of the step
model (Python decoding loops, calibration, the firmware's C loop) tracks it with the same
integer arithmetic, so they agree exactly.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from edge import vocab
from edge.model.config import ModelConfig

_US_PER_S_MILLI = 10**9  # microseconds per second x the 1000 of fps_milli


def fps_milli(cfg: ModelConfig) -> int:
    """The frame rate in thousandths of a frame per second (an integer)."""
    return round(cfg.fps * 1000)


def cap_us(cfg: ModelConfig) -> int:
    """Cursor values at or above this are past the hop (clipping keeps products in range)."""
    return _US_PER_S_MILLI * (cfg.hop_frames + 1) // fps_milli(cfg) + 1


def shift_us_table() -> np.ndarray:
    """int32 ``[243]``: microseconds each token advances the clock (0 for non time shifts)."""
    table = np.zeros(vocab.VOCAB_SIZE, np.int32)
    table[vocab.TIME_SHIFT_OFFSET : vocab.TIME_SHIFT_OFFSET + vocab.N_TIME_SHIFT_BINS] = (
        vocab.TIME_SHIFT_US)
    return table


def advance(cursor_us: int, token: int) -> int:
    """The cursor after feeding ``token``."""
    k = int(token) - vocab.TIME_SHIFT_OFFSET
    return cursor_us + (vocab.TIME_SHIFT_US[k] if 0 <= k < vocab.N_TIME_SHIFT_BINS else 0)


def clock_bin(cursor_us: int | np.ndarray, cfg: ModelConfig) -> Any:
    """Frame bin ``min(floor(cursor · fps), hop_frames)`` of a cursor in microseconds."""
    c = np.minimum(np.asarray(cursor_us, np.int64), cap_us(cfg))
    return np.minimum(c * fps_milli(cfg) // _US_PER_S_MILLI, cfg.hop_frames).astype(np.int32)


def cursors_of_inputs(tokens: np.ndarray) -> np.ndarray:
    """int64 ``[..., L]``: the cursor (microseconds) after each input token (numpy)."""
    return np.cumsum(shift_us_table()[np.asarray(tokens, np.int64)], axis=-1)


def clock_of_inputs(tokens: np.ndarray, cfg: ModelConfig) -> np.ndarray:
    """int32 bins ``[..., L]`` for input sequences ``tokens [..., L]`` (numpy)."""
    return clock_bin(cursors_of_inputs(tokens), cfg)


def clock_graph(tokens: Any, cfg: ModelConfig) -> Any:
    """:func:`clock_of_inputs` as Keras ops (the full-sequence training graph)."""
    us = keras.ops.take(shift_us_table().astype(np.int64), keras.ops.cast(tokens, "int32"))
    c = keras.ops.minimum(keras.ops.cumsum(us, axis=1), cap_us(cfg))
    b = keras.ops.floor_divide(c * fps_milli(cfg), _US_PER_S_MILLI)
    return keras.ops.cast(keras.ops.minimum(b, cfg.hop_frames), "int32")


def resize_clock_table(table: np.ndarray, hop_frames: int) -> np.ndarray:
    """A clock embedding ``[H0 + 1, d]`` trained for hop ``H0`` remapped to hop ``hop_frames``.

    Rows ``0..H-1`` are in-hop frame bins and mean the same for every hop (frame ``b`` of the
    hop), so they are copied; bins past the old hop (``H > H0``) take the old last in-hop row
    ``H0 - 1``. Row ``H`` ("at or past the hop's end") takes the old end row ``H0``. A start for
    fine-tuning to another hop, not an equivalent model.
    """
    old = np.asarray(table)
    if old.ndim != 2 or old.shape[0] < 2:
        raise ValueError(f"clock table must be [H0 + 1 >= 2, d], found shape {old.shape}")
    if hop_frames < 1:
        raise ValueError(f"hop_frames must be >= 1, found {hop_frames}")
    h0 = old.shape[0] - 1
    rows = [min(b, h0 - 1) for b in range(hop_frames)] + [h0]
    return old[rows].copy()
