"""An in-memory MIDI sink that records every message with its clock time (tests, analysis)."""

from __future__ import annotations

import mido

from firmware_bridge.playout import Clock, MonotonicClock
from firmware_bridge.sinks.base import MidiSink


class MemorySink(MidiSink):
    """Records ``(clock time, message)`` for everything sent, panic messages included."""

    def __init__(self, *, clock: Clock | None = None, name: str = "memory") -> None:
        self.clock: Clock = clock if clock is not None else MonotonicClock()
        self.events: list[tuple[float, mido.Message]] = []  # (clock.now() at send, message)
        self.closed_count = 0  # how many times the backend's _close ran (must stay <= 1)
        super().__init__(name=name)

    @property
    def messages(self) -> list[mido.Message]:
        """The recorded messages without their times."""
        return [msg for _, msg in self.events]

    def _send(self, msg: mido.Message) -> None:
        self.events.append((self.clock.now(), msg.copy()))

    def _close(self) -> None:
        self.closed_count += 1
