"""``.npz`` clip seeds and mutants for the ``clip`` fuzz target.

Seeds are one small clip (6 frames, tokens, a MIDI field, metadata) saved compressed, as
:func:`edge.data.clip.save_clip` writes it, and stored (``np.savez``), where a byte mutation
reaches the ``.npy`` headers behind the zip layer. :func:`mutate_clip` picks a byte-level
mutation or one structural edit of :data:`EDITS`: a field missing or of the wrong dtype or
shape, a header that declares 10**12 elements over a few bytes, a zip entry that claims a
terabyte, JSON nested 100000 deep, an object array, a bare ``.npy``.
"""

from __future__ import annotations

import io
import struct
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from export.fuzz.midifiles import seed_midis
from export.fuzz.mutate import mutate_bytes

N_FRAMES = 6
"""Frames of the seed clip."""


def _fields() -> dict[str, np.ndarray]:
    from edge.skeleton import N_JOINTS

    rng = np.random.default_rng(0)
    return {
        "keypoints": rng.random((N_FRAMES, N_JOINTS, 3), dtype=np.float32),
        "fps": np.float64(30.0),
        "tokens": np.array([176, 39, 215, 127, 208], np.int16),
        "midi": np.frombuffer(seed_midis()[1], np.uint8),
        "meta": np.array('{"instrument": "piano", "seed": 0}'),
    }


def _npz(fields: dict[str, object], *, compressed: bool) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **fields)
    return buf.getvalue()


def seed_clips() -> tuple[bytes, ...]:
    """The seed clip compressed and stored."""
    return _npz(_fields(), compressed=True), _npz(_fields(), compressed=False)


Edit = Callable[[np.random.Generator], tuple[bytes, str]]

_BAD_VALUES: dict[str, tuple[object, ...]] = {
    "keypoints": (np.zeros((N_FRAMES, 65, 3)), np.zeros((N_FRAMES, 65), np.float32),
                  np.zeros((0, 65, 3), np.float32), np.full((2, 65, 3), np.nan, np.float32),
                  np.full((2, 65, 3), 7.0, np.float32), np.array("keypoints"),
                  np.zeros((2, 65, 3), np.int8), np.zeros((1, 1, 1, 1), np.float32)),
    "fps": (np.float64(0), np.float64(-30), np.float64(np.nan), np.complex128(3 + 1j),
            np.array("30"), np.array([30.0, 30.0]), np.bool_(True), np.float64(1e-300),
            np.int64(2**62), np.array(np.inf)),
    "tokens": (np.array([1.5, 2.0]), np.zeros((2, 2), np.int16), np.array([-1], np.int16),
               np.array([10**12], np.int64), np.array(["a"]), np.array([2**15 - 1], np.int16)),
    "midi": (np.array("not midi"), np.array([300, 2**40]), np.zeros((2, 2), np.uint8),
             np.frombuffer(b"MThd\x00\x00\x00\x06\x00\x01\xff\xff\x01\xe0", np.uint8),
             np.array([1.5]), np.frombuffer(b"RIFF" * 4, np.uint8)),
    "meta": (np.array("{not json"), np.array("[1, 2, 3]"), np.array("[" * 100_000),
             np.array(["a", "b"]), np.array(b"\xff\xfe"), np.array(42), np.array('"text"'),
             np.array('{"a": ' * 50_000 + "1" + "}" * 50_000)),
}


def _bad_field(rng: np.random.Generator) -> tuple[bytes, str]:
    fields: dict[str, object] = dict(_fields())
    key = sorted(_BAD_VALUES)[int(rng.integers(len(_BAD_VALUES)))]
    values = _BAD_VALUES[key]
    k = int(rng.integers(len(values)))
    fields[key] = values[k]
    return _npz(fields, compressed=bool(rng.random() < 0.5)), f"field '{key}' = bad value {k}"


def _missing_field(rng: np.random.Generator) -> tuple[bytes, str]:
    fields: dict[str, object] = dict(_fields())
    key = sorted(fields)[int(rng.integers(len(fields)))]
    del fields[key]
    if rng.random() < 0.5:
        fields["extra"] = np.arange(3)
    return _npz(fields, compressed=False), f"field '{key}' removed"


def _absurd_header(rng: np.random.Generator) -> tuple[bytes, str]:
    """A member whose .npy header declares far more elements than it holds."""
    shape = [(10**12, 65, 3), (2**31, 65, 3), (3, 65, 10**9), (-1, 65, 3), (2**62, 2)]
    pick = shape[int(rng.integers(len(shape)))]
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        head, {"descr": "<f4", "fortran_order": False, "shape": pick})
    fields = {k: v for k, v in _fields().items() if k != "keypoints"}
    raw = io.BytesIO(_npz(fields, compressed=False))
    with zipfile.ZipFile(raw, "a") as z:
        z.writestr("keypoints.npy", head.getvalue() + b"\x00" * 64)
    return raw.getvalue(), f"keypoints header declares shape {pick} over 64 bytes"


def _declared_size(rng: np.random.Generator) -> tuple[bytes, str]:
    """A central-directory entry that claims a huge (or tiny) uncompressed size."""
    data = bytearray(seed_clips()[int(rng.integers(2))])
    entries = [i for i in range(len(data)) if data.startswith(b"PK\x01\x02", i)]
    pos = entries[int(rng.integers(len(entries)))]
    size = int(rng.choice((0xFFFFFFFF, 1 << 31, 1 << 28, 0, 1)))
    data[pos + 24:pos + 28] = struct.pack("<I", size)
    return bytes(data), f"central directory entry at {pos}: uncompressed size = {size}"


def _other_container(rng: np.random.Generator) -> tuple[bytes, str]:
    pick = int(rng.integers(4))
    buf = io.BytesIO()
    if pick == 0:
        np.save(buf, _fields()["keypoints"])
        return buf.getvalue(), "a bare .npy array"
    if pick == 1:
        np.savez(buf, keypoints=np.array([object()], dtype=object), fps=np.float64(30))
        return buf.getvalue(), "an object (pickled) keypoints array"
    if pick == 2:
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("keypoints.npy", b"\x93NUMPY\x01\x00\xff\xff" + b" " * 70)
            z.writestr("dir/", b"")
        return buf.getvalue(), "a .npy header of 65535 bytes in a 80-byte member"
    return b"", "an empty file"


EDITS: tuple[Edit, ...] = (_bad_field, _bad_field, _missing_field, _absurd_header,
                           _declared_size, _other_container)
"""Structural clip edits (a bad field twice as often as the others)."""


def mutate_clip(buf: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """60%: a byte-level mutant of ``buf``; 40%: one edit of :data:`EDITS` (a fresh file)."""
    if rng.random() < 0.6:
        return mutate_bytes(buf, rng)
    return EDITS[int(rng.integers(len(EDITS)))](rng)


def run_clip(data: bytes, stages: list[str]) -> None:
    """``load_clip`` on the mutant written to a file, then the clip's MIDI through the codec."""
    from edge.data.clip import load_clip
    from edge.midi.codec import encode

    with tempfile.TemporaryDirectory(prefix="fuzz-clip-") as tmp:
        path = Path(tmp) / "mutant.npz"
        path.write_bytes(data)
        stages.append("load")
        clip = load_clip(path)
    if clip.midi:
        stages.append("midi")
        encode(clip.midi)
