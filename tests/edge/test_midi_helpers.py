"""Small MIDI builders shared by the MIDI tests (hand-built mido files), and their own check."""

from __future__ import annotations

import io

import mido
import numpy as np

TPB = 480  # ticks per beat of the hand-built files


def smf(
    tracks: list[list[tuple[int, mido.Message | mido.MetaMessage]]], *, tpb: int = TPB
) -> bytes:
    """A type-1 Standard MIDI File from tracks of (absolute tick, message), as bytes."""
    mid = mido.MidiFile(type=1, ticks_per_beat=tpb)
    for events in tracks:
        track = mido.MidiTrack()
        last = 0
        for tick, msg in sorted(events, key=lambda e: e[0]):  # stable: same-tick order kept
            track.append(msg.copy(time=tick - last))
            last = tick
        mid.tracks.append(track)
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def on(tick: int, pitch: int, vel: int = 100, ch: int = 0) -> tuple[int, mido.Message]:
    """A note-on at ``tick``."""
    return tick, mido.Message("note_on", note=pitch, velocity=vel, channel=ch)


def off(
    tick: int, pitch: int, ch: int = 0, *, as_zero_on: bool = False
) -> tuple[int, mido.Message]:
    """A note-off at ``tick`` (or a note-on with velocity 0)."""
    if as_zero_on:
        return tick, mido.Message("note_on", note=pitch, velocity=0, channel=ch)
    return tick, mido.Message("note_off", note=pitch, velocity=0, channel=ch)


def notes_array(notes: list) -> tuple[np.ndarray, np.ndarray]:
    """(intervals [n,2] s, pitches [n] Hz) for mir_eval from objects with pitch/start/end."""
    import mir_eval

    iv = np.array([[n.start, n.end] for n in notes], float).reshape(-1, 2)
    hz = mir_eval.util.midi_to_hz(np.array([n.pitch for n in notes], float))
    return iv, hz


def test_smf_keeps_ticks_and_same_tick_order() -> None:
    data = smf([[on(0, 60), on(480, 62), off(480, 60)]])
    mid = mido.MidiFile(file=io.BytesIO(data))
    msgs = [m for m in mid.tracks[0] if not m.is_meta]
    assert [(m.type, m.note, m.time) for m in msgs] == [
        ("note_on", 60, 0),
        ("note_on", 62, 480),
        ("note_off", 60, 0),
    ]
