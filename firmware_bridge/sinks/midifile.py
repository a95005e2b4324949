"""A Standard MIDI File sink: messages with their times, written atomically at close.

Messages sent with their performance time (``send(msg, at_s=t)``, what the playout does) are
written at that time: time zero is the start of the performance, so a recording lines up with
the clip or video that produced it, whatever the live playout latency, and an event that played
late still lands where it belongs. A message without one (the panic at a stop, or a sink used on
its own) is written just after the last timed message or, when nothing was timed, at the sink's
clock (share the playout scheduler's clock, or a :class:`~firmware_bridge.playout.VirtualClock`
for offline rendering) counted from its first message. The file is type 0, 480 ticks
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
    """A type-0 :class:`mido.MidiFile` of ``(seconds, message)`` events, in time order (a stable
    sort: messages at one time keep the order they were sent in)."""
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=TEMPO_US_PER_BEAT, time=0))
    last_tick = 0
    for t_s, msg in sorted(events, key=lambda e: e[0]):
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
        self._last_at_s: float | None = None  # latest performance time written (None: none yet)
        super().__init__(name=str(self.path))

    def _open(self) -> None:
        parent = self.path.parent
        if parent.exists() and not parent.is_dir():
            raise SinkError(f"{self.path}: parent {parent} is not a folder")
        if self.path.is_dir():
            raise SinkError(f"{self.path}: expected a .mid file path, found a folder")

    def _send(self, msg: mido.Message) -> None:
        if self._last_at_s is not None:  # on the performance's timeline: right after its end
            self._events.append((self._last_at_s, msg.copy()))
            return
        now = self.clock.now()
        if self._origin is None:
            self._origin = now
        self._events.append((now - self._origin, msg.copy()))

    def _send_at(self, msg: mido.Message, at_s: float) -> None:
        t = max(0.0, float(at_s))
        self._last_at_s = t if self._last_at_s is None else max(self._last_at_s, t)
        self._events.append((t, msg.copy()))

    def _close(self) -> None:
        try:
            write_atomic(self.path, midi_file_bytes(self._events))
        except OSError as e:
            raise SinkError(f"{self.path}: cannot write MIDI file ({e})") from e
