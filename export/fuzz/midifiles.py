"""Standard MIDI File seeds and mutants for the ``midi`` fuzz target.

The seeds are written here byte by byte (:func:`smf`), so a mutation can break exactly what a
library writer never would: a header that claims 65535 tracks, a track chunk longer than the
file, running status with no status before it, a 28-bit delta time, a tempo of 0, a SysEx
that claims a megabyte, data bytes with the top bit set. :func:`mutate_midi` picks a byte-level
mutation (:func:`export.fuzz.mutate.mutate_bytes`) or one such structural edit.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence

import numpy as np

from export.fuzz.mutate import mutate_bytes

Event = tuple[int, bytes]  # (delta ticks, the event's bytes after the delta)


def varlen(n: int) -> bytes:
    """``n`` (0 <= n < 2**28) as a MIDI variable-length quantity."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def smf(tracks: Sequence[Sequence[Event]], *, fmt: int = 1, division: int = 480,
        n_tracks: int | None = None) -> bytes:
    """A Standard MIDI File of ``tracks``; ``n_tracks`` overrides the header's track count."""
    head = b"MThd" + struct.pack(">IHHH", 6, fmt, len(tracks) if n_tracks is None else n_tracks,
                                 division & 0xFFFF)
    body = b""
    for events in tracks:
        data = b"".join(varlen(dt) + ev for dt, ev in events)
        body += b"MTrk" + struct.pack(">I", len(data)) + data
    return head + body


def _tempo(us: int) -> bytes:
    return b"\xff\x51\x03" + us.to_bytes(3, "big")


_END = b"\xff\x2f\x00"


def _conductor(tempo: int = 500_000) -> list[Event]:
    return [(0, b"\xff\x03\x05Piano"), (0, _tempo(tempo)), (0, b"\xff\x58\x04\x04\x02\x18\x08"),
            (960, _tempo(400_000)), (0, _END)]


def _melody() -> list[Event]:
    """Notes with overlaps, a re-struck pitch, a note-on of velocity 0, sustain pedal, a
    program change, pitch bend, a SysEx and running status."""
    return [(0, b"\xc0\x00"), (0, b"\x90\x3c\x50"), (0, b"\xb0\x40\x7f"), (240, b"\x90\x40\x60"),
            (0, b"\x43\x58"), (240, b"\x80\x3c\x00"), (0, b"\x90\x3c\x40"), (120, b"\xe0\x00\x40"),
            (0, b"\xf0\x03\x7e\x7f\xf7"), (120, b"\x90\x3c\x00"), (0, b"\xb0\x40\x00"),
            (240, b"\x80\x40\x00"), (0, b"\x80\x43\x00"), (0, b"\x99\x24\x64"),
            (60, b"\x89\x24\x00"), (0, _END)]


def seed_midis() -> tuple[bytes, ...]:
    """Two small files: format 1 (conductor + melody) and format 0 (one track)."""
    return (smf([_conductor(), _melody()]),
            smf([[e for e in _melody() if e[1] != _END] + [(0, _tempo(600_000)), (0, _END)]],
                fmt=0, division=96))


Edit = Callable[[np.random.Generator], tuple[bytes, str]]


def _huge_delta(rng: np.random.Generator) -> tuple[bytes, str]:
    dt = int(rng.choice((0x0FFFFFFF, 0x00FFFFFF, 10**6)))
    mel = _melody()
    k = int(rng.integers(len(mel)))
    mel[k] = (dt, mel[k][1])
    return smf([_conductor(), mel]), f"event {k} delta = {dt} ticks"


def _odd_tempo(rng: np.random.Generator) -> tuple[bytes, str]:
    us = int(rng.choice((0, 1, 0xFFFFFF)))
    return smf([_conductor(us), _melody()]), f"tempo = {us} us per beat"


def _odd_header(rng: np.random.Generator) -> tuple[bytes, str]:
    fmt = int(rng.choice((0, 1, 2, 3, 0xFFFF)))
    division = int(rng.choice((0, 1, 0x7FFF, 0xE728, 0xFFFF, 480)))
    n = int(rng.choice((0, 2, 3, 65535)))
    return (smf([_conductor(), _melody()], fmt=fmt, division=division, n_tracks=n),
            f"header format {fmt}, division 0x{division:04x}, {n} tracks")


def _bad_event(rng: np.random.Generator) -> tuple[bytes, str]:
    bad = (b"\x3c\x40", b"\x90\x80\x40", b"\x90\x3c\xff", b"\xf0" + varlen(1 << 20) + b"\x00",
           b"\xff\x51\x7f\x00", b"\xff\x01" + varlen(0x0FFFFFFF), b"\xf7\x00", b"\xf4",
           b"\xff\x2f\x00", b"\xff\x58\x00", b"\xff\x59\x02\x80\x05", b"\x90\x3c")
    ev = bad[int(rng.integers(len(bad)))]
    mel = _melody()
    k = int(rng.integers(len(mel)))
    mel.insert(k, (0, ev))
    return smf([_conductor(), mel]), f"event {ev[:8]!r} inserted at {k}"


def _chunk_length(rng: np.random.Generator) -> tuple[bytes, str]:
    data = bytearray(smf([_conductor(), _melody()]))
    pos = data.find(b"MTrk", 14 if rng.random() < 0.5 else 0)
    n = int(rng.choice((0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 3)))
    data[pos + 4:pos + 8] = struct.pack(">I", n)
    return bytes(data), f"track chunk at {pos} length = {n}"


def _many_notes(rng: np.random.Generator) -> tuple[bytes, str]:
    n = int(rng.choice((2000, 5000)))
    pitch = (np.arange(n) % 88 + 21).astype(int)
    ev = [(0 if i % 7 else 1, bytes([0x90, int(p), 64])) for i, p in enumerate(pitch)]
    return smf([_conductor(), [*ev, (1, _END)]]), f"{n} note-ons, never released"


EDITS: tuple[Edit, ...] = (_huge_delta, _odd_tempo, _odd_header, _bad_event, _chunk_length,
                           _many_notes)
"""Structural MIDI edits, drawn uniformly."""


def mutate_midi(buf: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """60%: a byte-level mutant of ``buf``; 40%: one edit of :data:`EDITS` (a fresh file)."""
    if rng.random() < 0.6:
        return mutate_bytes(buf, rng)
    return EDITS[int(rng.integers(len(EDITS)))](rng)


def run_midi(data: bytes, stages: list[str]) -> None:
    """``read_midi`` -> ``load_pretty_midi`` -> ``encode`` -> ``decode``."""
    from edge.midi.codec import decode, encode
    from edge.midi.reader import load_pretty_midi, read_midi

    stages.append("read")
    content = read_midi(data, name="<mutant>")
    stages.append("pretty_midi")
    load_pretty_midi(content)
    stages.append("encode")
    tokens = encode(content).tokens
    stages.append("decode")
    decode(tokens)
