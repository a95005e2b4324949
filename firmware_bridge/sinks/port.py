"""A MIDI output port by name (USB-MIDI synths, virtual ports) through mido and python-rtmidi.

The real path is ``mido.open_output(name)`` on mido's default backend,
``mido.backends.rtmidi`` (python-rtmidi over ALSA on Linux, CoreMIDI on macOS, WinMM on
Windows; the ``MIDO_BACKEND`` environment variable picks another). List the names with
``python -c "import mido; print(mido.get_output_names())"``. A name that is not among them is
refused with the list of available ports; a unique prefix of one name is accepted (ALSA appends
client:port numbers such as ``"MicroFreak:MicroFreak MIDI 1 20:0"``).

Tests and other transports inject a *backend*: any object with ``get_output_names()`` and
``open_output(name)`` returning an object with ``send(msg)`` and ``close()`` — the same
boundary mido's own backends implement.
"""

from __future__ import annotations

from typing import Protocol

import mido

from firmware_bridge.errors import SinkError
from firmware_bridge.sinks.base import MidiSink


class OutputPort(Protocol):
    """The part of a mido output port this sink uses."""

    def send(self, msg: mido.Message) -> None:
        """Send one message."""
        ...

    def close(self) -> None:
        """Release the port."""
        ...


class PortBackend(Protocol):
    """The part of a mido backend this sink uses (``mido`` itself qualifies)."""

    def get_output_names(self) -> list[str]:
        """Names of the output ports that can be opened."""
        ...

    def open_output(self, name: str) -> OutputPort:
        """Open the output port called ``name``."""
        ...


class PortSink(MidiSink):
    """Sends to a mido output port opened by name."""

    def __init__(self, port_name: str, *, backend: PortBackend | None = None) -> None:
        self._backend: PortBackend = backend if backend is not None else mido
        self._port: OutputPort | None = None
        super().__init__(name=port_name)

    def _open(self) -> None:
        try:
            names = list(self._backend.get_output_names())
        except OSError as e:  # rtmidi.SystemError when ALSA/CoreMIDI is unavailable
            raise SinkError(
                f"MIDI output port {self.name!r}: cannot list MIDI ports ({e}); "
                "is a MIDI system (ALSA sequencer, CoreMIDI) available on this machine?"
            ) from e
        resolved = _resolve_name(self.name, names)
        try:
            self._port = self._backend.open_output(resolved)
        except OSError as e:
            raise SinkError(f"MIDI output port {resolved!r}: cannot open ({e})") from e

    def _send(self, msg: mido.Message) -> None:
        assert self._port is not None
        try:
            self._port.send(msg)
        except OSError as e:
            raise SinkError(f"MIDI output port {self.name!r}: send failed ({e})") from e

    def _close(self) -> None:
        if self._port is not None:
            self._port.close()
            self._port = None


def _resolve_name(name: str, available: list[str]) -> str:
    """The exact port name, or the single available name that starts with ``name``."""
    if name in available:
        return name
    candidates = [n for n in available if n.startswith(name)]
    if len(candidates) == 1:
        return candidates[0]
    listing = ", ".join(repr(n) for n in available) or "none"
    if candidates:
        raise SinkError(f"MIDI output port {name!r} is ambiguous: matches {candidates}")
    raise SinkError(f"MIDI output port {name!r} not found; available output ports: {listing}")
