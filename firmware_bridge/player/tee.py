"""One sink feeding several: a single stream renders the demo's .mid and .wav together."""

from __future__ import annotations

from collections.abc import Sequence

import mido

from firmware_bridge.sinks.base import MidiSink


class TeeSink(MidiSink):
    """Sends every message to each of ``sinks``; closing it closes them all, in order.

    The base class panics the tee (note-offs for what it holds, CC 123) before ``_close``, and
    each child panics again on its own close, so no child is left holding a note. A child that
    fails to close does not stop the others from closing; the first error is raised after.
    """

    def __init__(self, sinks: Sequence[MidiSink], *, name: str = "tee") -> None:
        self.sinks = tuple(sinks)  # the destinations, in the order they receive messages
        super().__init__(name=name)

    def _send(self, msg: mido.Message) -> None:
        for sink in self.sinks:
            sink.send(msg)

    def _send_at(self, msg: mido.Message, at_s: float) -> None:
        for sink in self.sinks:
            sink.send(msg, at_s=at_s)

    def _close(self) -> None:
        first: Exception | None = None
        for sink in self.sinks:
            try:
                sink.close()
            except Exception as e:  # noqa: BLE001 - close the rest, re-raise the first below
                first = first or e
        if first is not None:
            raise first
