"""DIN MIDI: raw MIDI bytes over a serial line at 31250 baud (``din:URL`` on the command line).

Any pyserial ``serial_for_url`` URL works: ``/dev/ttyUSB0`` for a USB-serial adapter wired to
a DIN-5 socket (or a board's UART), ``socket://host:port`` for a bridge, ``loop://`` for tests.
Every message is written whole with its status byte (running status off), so a receiver that
joins mid-stream or drops a byte resynchronises at the next message.
"""

from __future__ import annotations

import mido
import serial

from firmware_bridge.errors import SinkError
from firmware_bridge.sinks.base import MidiSink

DIN_BAUDRATE = 31250  # the MIDI 1.0 DIN current-loop rate


class DinSink(MidiSink):
    """Writes MIDI bytes to a serial port.

    ``port`` is a URL (the sink opens the port at ``baudrate`` and closes it) or an already
    open :class:`serial.SerialBase` (the sink borrows it: it writes, flushes on close, and
    leaves it open for its owner).
    """

    def __init__(self, port: str | serial.SerialBase, *, baudrate: int = DIN_BAUDRATE) -> None:
        self._url = port if isinstance(port, str) else None
        self._serial: serial.SerialBase | None = None if isinstance(port, str) else port
        self._baudrate = baudrate
        name = f"din:{port}" if isinstance(port, str) else f"din:{getattr(port, 'port', port)}"
        super().__init__(name=name)

    @property
    def bytes_written(self) -> int:
        """Total MIDI bytes written so far."""
        return self._written

    def _open(self) -> None:
        self._written = 0
        if self._url is None:
            return
        if not self._url:
            raise SinkError("din sink: expected a serial URL after 'din:' (e.g. din:/dev/ttyUSB0)")
        try:
            self._serial = serial.serial_for_url(self._url, baudrate=self._baudrate, timeout=1)
        except (ValueError, serial.SerialException) as e:
            raise SinkError(f"din sink: cannot open serial URL {self._url!r} ({e})") from e

    def _send(self, msg: mido.Message) -> None:
        assert self._serial is not None
        data = bytes(msg.bytes())
        try:
            self._serial.write(data)
        except (OSError, serial.SerialException) as e:
            raise SinkError(f"{self.name}: serial write failed ({e})") from e
        self._written += len(data)

    def _close(self) -> None:
        if self._serial is None:
            return
        try:
            self._serial.flush()
        finally:
            if self._url is not None:
                self._serial.close()
                self._serial = None
