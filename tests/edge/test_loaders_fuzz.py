"""Issue #19 for clips and MIDI files: seeded mutants of a small ``.npz`` clip into
``load_clip`` (what ``data show``, ``export --decode`` and ``play --keypoints`` read) and of a
small Standard MIDI File into the MIDI reader and codec (``midi encode|show``) end in a value
or in a clear ClipError / MidiError, never a traceback, a crash, a hang or a huge allocation.

``FOLEY_EDGE_FUZZ_N`` sets the number of mutants of each (default :data:`DEFAULT_N`).
"""

from __future__ import annotations

import io
import os
import zipfile
from collections import Counter

import numpy as np
import pytest

from edge.data.clip import ClipError, load_clip
from edge.midi import MidiError
from edge.midi.reader import read_midi
from export.fuzz.clips import seed_clips
from export.fuzz.harness import run_fuzz
from export.fuzz.midifiles import seed_midis, smf

DEFAULT_N = 1000
"""Mutated clips, and mutated MIDI files, in ``make test``."""


def test_mutated_clips_and_midi_files_load_or_give_a_clear_error() -> None:
    n = int(os.environ.get("FOLEY_EDGE_FUZZ_N", DEFAULT_N))
    report = run_fuzz({"clip": n, "midi": n}, seed=0, jobs=2)
    assert not report.failures, report.summary()
    for target, errors in (("clip", {"ClipError", "MidiError"}), ("midi", {"MidiError"})):
        counts = report.counts(target)
        assert counts["ok"] > n // 50 and counts["error"] > n // 2, (target, counts)
        kinds = Counter(r.error for r in report.results if r.target == target and r.error)
        assert set(kinds) <= errors, kinds


def _npz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _members(clip: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(clip)) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def test_clip_headers_that_lie_are_refused_before_reading(tmp_path) -> None:
    members = _members(seed_clips()[1])
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        head, {"descr": "<f4", "fortran_order": False, "shape": (10**12, 65, 3)})
    members["keypoints.npy"] = head.getvalue() + bytes(64)
    path = tmp_path / "liar.npz"
    path.write_bytes(_npz(members))
    with pytest.raises(ClipError, match=r"liar\.npz: field 'keypoints' declares shape "
                                        r"\[1000000000000, 65, 3\] float32 \(780000000000000 "
                                        r"bytes\) but holds 64 bytes"):
        load_clip(path)


@pytest.mark.parametrize(("change", "pattern"), [
    (lambda b: b[:len(b) // 2], r"not a readable \.npz clip \(BadZipFile: File is not a zip file\)"),
    (lambda b: _npy(np.zeros((2, 65, 3), np.float32)), r"not a readable \.npz clip \(BadZipFile"),
    (lambda b: b.replace(b"PK\x01\x02", b"PK\x01\x03", 1), r"not a readable \.npz clip"),
    (lambda b: _npz({**_members(b), "meta.npy": _npy(np.array("[" * 100_000))}),
     r"field 'meta' is not valid JSON \(RecursionError"),
    (lambda b: _npz({**_members(b), "meta.npy": _npy(np.array("[1, 2]"))}),
     r"field 'meta' must be a JSON object, found list"),
    (lambda b: _npz({**_members(b), "midi.npy": _npy(np.array("MThd"))}),
     r"field 'midi' must be the bytes of a MIDI file \(uint8 \[B\]\), found <U4 \[\]"),
    (lambda b: _npz({**_members(b), "fps.npy": _npy(np.array(3 + 1j))}),
     r"field 'fps' must be a scalar number, found complex128 \[\]"),
])
def test_broken_clips_name_the_problem(tmp_path, change, pattern) -> None:
    path = tmp_path / "broken.npz"
    path.write_bytes(change(seed_clips()[1]))
    with pytest.raises(ClipError, match=rf"broken\.npz: {pattern}"):
        load_clip(path)


def test_a_key_signature_mido_cannot_name_is_a_midi_error() -> None:
    bad = smf([[(0, b"\xff\x59\x02\x80\x05"), (0, b"\xff\x2f\x00")]])
    with pytest.raises(MidiError, match=r"<bytes>: corrupt MIDI file \(KeySignatureError: "
                                        r"Could not decode key with 128 flats and mode 5\)"):
        read_midi(bad)
    assert read_midi(seed_midis()[0]).instruments  # the seed itself reads
