"""Format-blind byte mutations: the bit flips, overwritten words, cuts and splices of a damaged
or hostile file.

``mutate_bytes(data, rng) -> (mutant, description)`` applies one to :data:`MAX_STEPS` random
steps; the description names each step and its position, so a failing case can be read
without re-running it. Everything is drawn from ``rng`` (a seeded ``numpy`` generator), so a
case is reproduced from its seed alone. Cost: O(len(data)) per step.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

MAX_STEPS = 4
"""Most mutation steps stacked on one mutant."""

INTERESTING_WORDS: tuple[int, ...] = (
    0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000,
    0xFFFFFFFF, 0xFFFFFFFE, 0x40000000, 1_000_000_007,
)
"""32-bit values that hit boundaries of lengths, offsets, counts and signed fields."""

INTERESTING_BYTES: tuple[int, ...] = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF)
"""Byte values at the edges of signed and unsigned ranges."""

Step = Callable[[bytearray, np.random.Generator], str]


def _pos(buf: bytearray, rng: np.random.Generator) -> int:
    return int(rng.integers(len(buf)))


def _flip(buf: bytearray, rng: np.random.Generator) -> str:
    i, bit = _pos(buf, rng), int(rng.integers(8))
    buf[i] ^= 1 << bit
    return f"flip bit {bit} of byte {i}"


def _set_byte(buf: bytearray, rng: np.random.Generator) -> str:
    i = _pos(buf, rng)
    v = int(rng.choice(INTERESTING_BYTES)) if rng.random() < 0.5 else int(rng.integers(256))
    buf[i] = v
    return f"byte {i} = 0x{v:02x}"


def _set_word(buf: bytearray, rng: np.random.Generator) -> str:
    """A little-endian 32-bit word (aligned, as flatbuffer offsets and lengths are)."""
    if len(buf) < 4:
        return _set_byte(buf, rng)
    i = int(rng.integers(len(buf) // 4)) * 4
    old = int.from_bytes(buf[i:i + 4], "little")
    pick = rng.random()
    if pick < 0.5:
        v = int(rng.choice(INTERESTING_WORDS))
    elif pick < 0.7:
        v = len(buf) + int(rng.integers(-8, 9))
    elif pick < 0.9:
        v = old + int(rng.integers(-16, 17))
    else:
        v = int(rng.integers(2**32))
    v %= 2**32
    buf[i:i + 4] = v.to_bytes(4, "little")
    return f"word {i} = 0x{v:08x} (was 0x{old:08x})"


def _truncate(buf: bytearray, rng: np.random.Generator) -> str:
    n = int(rng.integers(len(buf)))
    del buf[n:]
    return f"truncate to {n} bytes"


def _delete(buf: bytearray, rng: np.random.Generator) -> str:
    i = _pos(buf, rng)
    n = int(rng.integers(1, 65))
    del buf[i:i + n]
    return f"delete {n} bytes at {i}"


def _insert(buf: bytearray, rng: np.random.Generator) -> str:
    i = _pos(buf, rng)
    n = int(rng.integers(1, 65))
    if rng.random() < 0.5:
        j = _pos(buf, rng)
        chunk = bytes(buf[j:j + n])
        what = f"copy of {len(chunk)} bytes from {j}"
    else:
        chunk = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        what = f"{n} random bytes"
    buf[i:i] = chunk
    return f"insert {what} at {i}"


def _fill(buf: bytearray, rng: np.random.Generator) -> str:
    i = _pos(buf, rng)
    n = int(rng.integers(1, 65))
    v = int(rng.choice(INTERESTING_BYTES))
    end = min(len(buf), i + n)
    buf[i:end] = bytes([v]) * (end - i)
    return f"fill bytes {i}..{end - 1} with 0x{v:02x}"


STEPS: tuple[tuple[Step, float], ...] = (
    (_flip, 0.25), (_set_byte, 0.15), (_set_word, 0.3), (_truncate, 0.06), (_delete, 0.08),
    (_insert, 0.08), (_fill, 0.08),
)
"""Mutation steps and how often each is drawn."""


def mutate_bytes(data: bytes, rng: np.random.Generator, *, max_steps: int = MAX_STEPS
                 ) -> tuple[bytes, str]:
    """``data`` with 1 to ``max_steps`` random steps of :data:`STEPS` applied, and what they
    were (``"flip bit 3 of byte 120; truncate to 400 bytes"``)."""
    buf = bytearray(data)
    fns = [s for s, _ in STEPS]
    weights = np.array([w for _, w in STEPS])
    done = []
    for _ in range(int(rng.integers(1, max_steps + 1))):
        if not buf:
            break
        done.append(fns[int(rng.choice(len(fns), p=weights / weights.sum()))](buf, rng))
    return bytes(buf), "; ".join(done) or "empty input"
