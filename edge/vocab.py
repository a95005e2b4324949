"""The MIDI event vocabulary: the single source of truth shared by Python and C.

Foley Music / Performance-RNN style events, 243 tokens:

=========  =======  ==========================================================
tokens     count    meaning
=========  =======  ==========================================================
0-87       88       NOTE_ON pitch 21..108
88-175     88       NOTE_OFF pitch 21..108
176-207    32       VELOCITY bin (32 bins over MIDI velocity 1..127)
208-239    32       TIME_SHIFT k: advance 1.15**k / 65 seconds (15.4 ms .. 1171 ms)
240        1        SOS (start of sequence)
241        1        EOS (end of sequence)
242        1        PAD
=========  =======  ==========================================================

The C header the firmware uses is generated from this module by :func:`c_header`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

PITCH_MIN = 21
"""Lowest representable pitch (A0)."""
PITCH_MAX = 108
"""Highest representable pitch (C8)."""
N_PITCHES = PITCH_MAX - PITCH_MIN + 1  # 88
N_VELOCITY_BINS = 32
N_TIME_SHIFT_BINS = 32
TIME_SHIFT_BASE = 1.15
TIME_SHIFT_DIVISOR = 65.0

NOTE_ON_OFFSET = 0
NOTE_OFF_OFFSET = NOTE_ON_OFFSET + N_PITCHES  # 88
VELOCITY_OFFSET = NOTE_OFF_OFFSET + N_PITCHES  # 176
TIME_SHIFT_OFFSET = VELOCITY_OFFSET + N_VELOCITY_BINS  # 208
SOS = TIME_SHIFT_OFFSET + N_TIME_SHIFT_BINS  # 240
EOS = SOS + 1  # 241
PAD = EOS + 1  # 242
VOCAB_SIZE = PAD + 1  # 243

VELOCITY_MIN = 1
VELOCITY_MAX = 127


class EventKind(IntEnum):
    """The kind of one token."""

    NOTE_ON = 0
    NOTE_OFF = 1
    VELOCITY = 2
    TIME_SHIFT = 3
    SOS = 4
    EOS = 5
    PAD = 6


@dataclass(frozen=True)
class Event:
    """One decoded token."""

    kind: EventKind  # what the token means
    value: int  # pitch for notes, MIDI velocity for VELOCITY, bin index for TIME_SHIFT, 0 else


def time_shift_seconds(k: int | np.ndarray) -> float | np.ndarray:
    """Duration in seconds of time-shift bin ``k`` (0..31): 1.15**k / 65."""
    return TIME_SHIFT_BASE ** np.asarray(k, dtype=np.float64) / TIME_SHIFT_DIVISOR


TIME_SHIFT_TABLE_S: tuple[float, ...] = tuple(
    float(time_shift_seconds(k)) for k in range(N_TIME_SHIFT_BINS)
)
"""Seconds of every time-shift bin, shortest first."""

TIME_SHIFT_US: tuple[int, ...] = tuple(round(s * 1e6) for s in TIME_SHIFT_TABLE_S)
"""Whole microseconds of every time-shift bin: the decoder's clock sums these (Python and C)."""


def velocity_to_bin(velocity: int) -> int:
    """Map a MIDI velocity 1..127 to its bin 0..31 (velocity 0 is not a note-on)."""
    if not VELOCITY_MIN <= velocity <= VELOCITY_MAX:
        raise ValueError(f"velocity must be in {VELOCITY_MIN}..{VELOCITY_MAX}, found {velocity}")
    return (velocity - 1) * N_VELOCITY_BINS // VELOCITY_MAX


def bin_to_velocity(b: int) -> int:
    """Representative MIDI velocity of bin ``b`` (the centre of its range)."""
    if not 0 <= b < N_VELOCITY_BINS:
        raise ValueError(f"velocity bin must be in 0..{N_VELOCITY_BINS - 1}, found {b}")
    lo = -(-b * VELOCITY_MAX // N_VELOCITY_BINS) + 1
    hi = -(-(b + 1) * VELOCITY_MAX // N_VELOCITY_BINS)
    return (lo + hi) // 2


def note_on(pitch: int) -> int:
    """Token of NOTE_ON ``pitch``."""
    _check_pitch(pitch)
    return NOTE_ON_OFFSET + pitch - PITCH_MIN


def note_off(pitch: int) -> int:
    """Token of NOTE_OFF ``pitch``."""
    _check_pitch(pitch)
    return NOTE_OFF_OFFSET + pitch - PITCH_MIN


def velocity(v: int) -> int:
    """Token of the VELOCITY bin holding MIDI velocity ``v``."""
    return VELOCITY_OFFSET + velocity_to_bin(v)


def time_shift(k: int) -> int:
    """Token of TIME_SHIFT bin ``k``."""
    if not 0 <= k < N_TIME_SHIFT_BINS:
        raise ValueError(f"time-shift bin must be in 0..{N_TIME_SHIFT_BINS - 1}, found {k}")
    return TIME_SHIFT_OFFSET + k


def _check_pitch(pitch: int) -> None:
    if not PITCH_MIN <= pitch <= PITCH_MAX:
        raise ValueError(f"pitch must be in {PITCH_MIN}..{PITCH_MAX}, found {pitch}")


def describe(token: int) -> Event:
    """Decode one token id into an :class:`Event`."""
    t = int(token)
    if not 0 <= t < VOCAB_SIZE:
        raise ValueError(f"token must be in 0..{VOCAB_SIZE - 1}, found {t}")
    if t < NOTE_OFF_OFFSET:
        return Event(EventKind.NOTE_ON, t - NOTE_ON_OFFSET + PITCH_MIN)
    if t < VELOCITY_OFFSET:
        return Event(EventKind.NOTE_OFF, t - NOTE_OFF_OFFSET + PITCH_MIN)
    if t < TIME_SHIFT_OFFSET:
        return Event(EventKind.VELOCITY, bin_to_velocity(t - VELOCITY_OFFSET))
    if t < SOS:
        return Event(EventKind.TIME_SHIFT, t - TIME_SHIFT_OFFSET)
    return Event({SOS: EventKind.SOS, EOS: EventKind.EOS, PAD: EventKind.PAD}[t], 0)


def token_name(token: int) -> str:
    """A short readable name: ``ON 60``, ``OFF 60``, ``VEL 80``, ``SHIFT 120ms``, ``SOS``."""
    e = describe(token)
    if e.kind is EventKind.NOTE_ON:
        return f"ON {e.value}"
    if e.kind is EventKind.NOTE_OFF:
        return f"OFF {e.value}"
    if e.kind is EventKind.VELOCITY:
        return f"VEL {e.value}"
    if e.kind is EventKind.TIME_SHIFT:
        return f"SHIFT {TIME_SHIFT_TABLE_S[e.value] * 1000:.1f}ms"
    return e.kind.name


def vocab_hash() -> int:
    """A 32-bit hash of the vocabulary layout; the host refuses firmware whose hash differs."""
    desc = (
        f"pitch {PITCH_MIN}-{PITCH_MAX};vel {N_VELOCITY_BINS};"
        f"shift {N_TIME_SHIFT_BINS} {TIME_SHIFT_BASE}/{TIME_SHIFT_DIVISOR};"
        f"on {NOTE_ON_OFFSET} off {NOTE_OFF_OFFSET} vel {VELOCITY_OFFSET} "
        f"shift {TIME_SHIFT_OFFSET} sos {SOS} eos {EOS} pad {PAD} size {VOCAB_SIZE}"
    )
    return int.from_bytes(hashlib.sha256(desc.encode()).digest()[:4], "little")


def c_header() -> str:
    """The C header ``fe_vocab.h`` generated from this module (never edit the output)."""
    shifts_us = ", ".join(str(us) for us in TIME_SHIFT_US)
    vel_table = ", ".join(str(bin_to_velocity(b)) for b in range(N_VELOCITY_BINS))
    return f"""\
/* fe_vocab.h: MIDI event vocabulary. GENERATED by edge/vocab.py; do not edit. */
#ifndef FE_VOCAB_H
#define FE_VOCAB_H

#include <stdint.h>

#define FE_PITCH_MIN {PITCH_MIN}
#define FE_PITCH_MAX {PITCH_MAX}
#define FE_NOTE_ON_OFFSET {NOTE_ON_OFFSET}
#define FE_NOTE_OFF_OFFSET {NOTE_OFF_OFFSET}
#define FE_VELOCITY_OFFSET {VELOCITY_OFFSET}
#define FE_TIME_SHIFT_OFFSET {TIME_SHIFT_OFFSET}
#define FE_N_VELOCITY_BINS {N_VELOCITY_BINS}
#define FE_N_TIME_SHIFT_BINS {N_TIME_SHIFT_BINS}
#define FE_TOKEN_SOS {SOS}
#define FE_TOKEN_EOS {EOS}
#define FE_TOKEN_PAD {PAD}
#define FE_VOCAB_SIZE {VOCAB_SIZE}
#define FE_VOCAB_HASH 0x{vocab_hash():08X}u

/* Microseconds of each TIME_SHIFT bin (1.15^k / 65 s). */
static const uint32_t fe_time_shift_us[FE_N_TIME_SHIFT_BINS] = {{ {shifts_us} }};
/* MIDI velocity sent for each VELOCITY bin. */
static const uint8_t fe_velocity_of_bin[FE_N_VELOCITY_BINS] = {{ {vel_table} }};

#endif /* FE_VOCAB_H */
"""
