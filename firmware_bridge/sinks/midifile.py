"""A Standard MIDI File sink: messages with their times, written atomically at close.

Times come from the sink's clock (share the playout scheduler's clock, or a
:class:`~firmware_bridge.playout.VirtualClock` for offline rendering); time zero is the first
message, so the silence before a stream starts is not written. The file is type 0, 480 ticks
per beat at tempo 120 (500,000 µs per beat), so one second is 960 ticks; ticks are rounded from
absolute seconds, so rounding never accumulates.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import mido

from edge.data.clip import write_atomic
from firmware_bridge.errors import SinkError
from firmware_bridge.playout import Clock, MonotonicClock
from firmware_bridge.sinks.base import MidiSink

TICKS_PER_BEAT = 480
TEMPO_US_PER_BEAT = 500_000  # 120 beats per minute
TICKS_PER_SECOND = TICKS_PER_BEAT * 1_000_000 // TEMPO_US_PER_BEAT  # 960


def seconds_to_ticks(t_s: float) -> int:
    """Absolute MIDI ticks for ``t_s`` seconds at this sink's tempo (rounded)."""
    return round(t_s * TICKS_PER_SECOND)


def build_midi_file(events: list[tuple[float, mido.Message]]) -> mido.MidiFile:
    """A type-0 :class:`mido.MidiFile` of ``(seconds, message)`` events (sorted by time)."""
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=TEMPO_US_PER_BEAT, time=0))
    last_tick = 0
    for t_s, msg in events:
        tick = max(last_tick, seconds_to_ticks(t_s))
        track.append(msg.copy(time=tick - last_tick))
        last_tick = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    midi = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(track)
    return midi


def midi_file_bytes(events: list[tuple[float, mido.Message]]) -> bytes:
    """The Standard MIDI File bytes for ``events``."""
    buf = io.BytesIO()
    build_midi_file(events).save(file=buf)
    return buf.getvalue()


class MidiFileSink(MidiSink):
    """Collects messages with their clock times and writes a .mid at close."""

    def __init__(self, path: str | os.PathLike[str], *, clock: Clock | None = None) -> None:
        self.path = Path(path)  # the .mid written at close
        self.clock: Clock = clock if clock is not None else MonotonicClock()
        self._events: list[tuple[float, mido.Message]] = []
        self._origin: float | None = None
        super().__init__(name=str(self.path))

    def _open(self) -> None:
        parent = self.path.parent
        if parent.exists() and not parent.is_dir():
            raise SinkError(f"{self.path}: parent {parent} is not a folder")
        if self.path.is_dir():
            raise SinkError(f"{self.path}: expected a .mid file path, found a folder")

    def _send(self, msg: mido.Message) -> None:
        now = self.clock.now()
        if self._origin is None:
            self._origin = now
        self._events.append((now - self._origin, msg.copy()))

    def _close(self) -> None:
        try:
            write_atomic(self.path, midi_file_bytes(self._events))
        except OSError as e:
            raise SinkError(f"{self.path}: cannot write MIDI file ({e})") from e
