"""The MIDI sink base class: locking, validation, ``with``, held-note tracking and panic.

Shaped like mido's ports: :class:`MidiSink` owns everything that is the same for every
destination, and a backend overrides only ``_open``, ``_close`` and ``_send``. The base class
guarantees the project's one hard rule for MIDI output — no note is ever left sounding:

* it tracks held notes per channel (``note_on`` with velocity > 0 adds; ``note_off`` or
  ``note_on`` with velocity 0 removes);
* :meth:`MidiSink.panic` sends ``note_off`` for every held note, then CC 123 (All Notes Off) on
  every channel used since the sink opened;
* :meth:`MidiSink.close` always panics first, and runs on leaving a ``with`` block — also when
  the block raised, including ``KeyboardInterrupt`` (Ctrl-C). Closing twice is a no-op.
"""

from __future__ import annotations

import threading
from types import TracebackType

import mido

from firmware_bridge.errors import SinkError

ACCEPTED_TYPES: frozenset[str] = frozenset(
    {"note_on", "note_off", "control_change", "program_change"}
)
ALL_NOTES_OFF_CC = 123  # MIDI channel mode message "All Notes Off"


class MidiSink:
    """A destination for MIDI channel messages that never leaves a note stuck on.

    Subclasses implement ``_open()`` (called once from ``__init__``), ``_send(msg)`` (write one
    validated message) and ``_close()`` (release the resource; called once). All public methods
    are thread-safe: one re-entrant lock serialises ``send``, ``panic`` and ``close``.

    ``send(msg, at_s=t)`` also says when the message belongs on the performance's timeline (the
    time of the keypoint frames that produced it, in seconds from the stream's start): live
    sinks (ports, DIN) play it now and ignore ``t``; recording sinks (``.mid``, ``.wav``) override
    ``_send_at`` to write it at ``t``, so a recording lines up with the clip or the video whatever
    the playout latency.
    """

    def __init__(self, *, name: str) -> None:
        self.name = name  # what the user asked for: port name, URL or file path
        self._lock = threading.RLock()
        self._held: dict[int, set[int]] = {}  # channel -> notes sounding now
        self._used_channels: set[int] = set()  # channels that received any message
        self._closed = True
        self._open()
        self._closed = False

    # -- backend interface -------------------------------------------------------------------
    def _open(self) -> None:
        """Acquire the destination (port, serial line, temp state)."""

    def _send(self, msg: mido.Message) -> None:
        """Write one validated channel message."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _send")

    def _send_at(self, msg: mido.Message, at_s: float) -> None:
        """Write one validated message that belongs at ``at_s`` on the performance's timeline;
        live sinks send it now."""
        self._send(msg)

    def _close(self) -> None:
        """Release the destination; the base class has already sent the panic."""

    # -- public API --------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run (or before ``_open`` succeeded)."""
        return self._closed

    @property
    def held_notes(self) -> frozenset[tuple[int, int]]:
        """The ``(channel, note)`` pairs sounding now, as far as this sink has sent."""
        with self._lock:
            return frozenset((ch, n) for ch, notes in self._held.items() for n in notes)

    def send(self, msg: mido.Message, *, at_s: float | None = None) -> None:
        """Validate ``msg``, send it and update the held-note table; ``at_s``: its time on the
        performance's timeline, when known (see the class docstring)."""
        _check_message(msg, self.name)
        with self._lock:
            if self._closed:
                raise SinkError(f"{self.name}: cannot send {msg.type}: the sink is closed")
            if at_s is None:
                self._send(msg)
            else:
                self._send_at(msg, at_s)
            self._track(msg)

    def panic(self) -> None:
        """Send ``note_off`` for every held note, then CC 123 on every used channel.

        Every message is attempted even if an earlier one fails (a half-gone port should still
        get as many note-offs as it takes); the first failure is raised at the end.
        """
        with self._lock:
            if self._closed:
                return
            messages = [
                mido.Message("note_off", channel=channel, note=note, velocity=0)
                for channel in sorted(self._held)
                for note in sorted(self._held[channel])
            ]
            messages += [
                mido.Message("control_change", channel=ch, control=ALL_NOTES_OFF_CC, value=0)
                for ch in sorted(self._used_channels)
            ]
            self._held.clear()
            first_error: Exception | None = None
            for msg in messages:
                try:
                    self._send(msg)
                except Exception as e:  # keep going: every note-off counts
                    first_error = first_error or e
            if first_error is not None:
                raise first_error

    def close(self) -> None:
        """Panic, then release the destination. Safe to call more than once."""
        with self._lock:
            if self._closed:
                return
            try:
                self.panic()
            finally:
                self._closed = True
                self._close()

    def __enter__(self) -> MidiSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        # Like mido's ports: a sink dropped without close() still releases its notes.
        if not getattr(self, "_closed", True):
            self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{type(self).__name__} {self.name!r} ({state})>"

    # -- internals ---------------------------------------------------------------------------
    def _track(self, msg: mido.Message) -> None:
        channel = msg.channel
        self._used_channels.add(channel)
        if msg.type == "note_on" and msg.velocity > 0:
            self._held.setdefault(channel, set()).add(msg.note)
        elif msg.type in ("note_on", "note_off"):
            self._held.get(channel, set()).discard(msg.note)


def _check_message(msg: object, where: str) -> None:
    """Raise :class:`SinkError` unless ``msg`` is a mido channel message this sink accepts."""
    if not isinstance(msg, mido.Message):
        raise SinkError(
            f"{where}: expected a mido.Message of type {sorted(ACCEPTED_TYPES)}, "
            f"found {type(msg).__name__}"
        )
    if msg.type not in ACCEPTED_TYPES:
        raise SinkError(
            f"{where}: message type must be one of {sorted(ACCEPTED_TYPES)}, found {msg.type!r}"
        )
