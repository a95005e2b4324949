"""A minimal synchronous protocol client for a board's host link (boot checks, tests, CLI).

:class:`BoardConsole` sends protocol messages over any pyserial URL and reads replies one
frame at a time; :meth:`BoardConsole.expect` returns the next message of a wanted type and
keeps the others in :attr:`BoardConsole.seen`. The streaming host (credits, pacing, sinks) is
``firmware_bridge.link.DeviceLink``; this is the small tool for handshakes and probes.
"""

from __future__ import annotations

import time
from collections import deque

import serial

from firmware_bridge.errors import BoardError, ProtocolError
from firmware_bridge.protocol.framing import Frame, FrameReader
from firmware_bridge.protocol.messages import Message, decode_message, encode_message

READ_CHUNK = 4096
POLL_S = 0.02


class BoardConsole:
    """Protocol messages over one serial URL (``socket://host:port``, ``/dev/ttyACM0``...)."""

    def __init__(self, url: str, *, baudrate: int = 115200) -> None:
        try:
            self._port = serial.serial_for_url(url, baudrate=baudrate, timeout=POLL_S)
        except (serial.SerialException, OSError, ValueError) as e:
            raise BoardError(f"cannot open the board link {url!r}: {e}") from e
        self.url = url
        self._reader = FrameReader()
        self._pending: deque[Message] = deque()
        self._seq = 0
        self.seen: list[Message] = []  # messages skipped by expect(), oldest first
        self.faults = 0  # bad frames received from the device

    def send(self, msg: Message) -> int:
        """Send one message; returns the seq it carried."""
        seq = self._seq
        self.write(encode_message(msg, seq))
        self._seq = (seq + 1) & 0xFFFF
        return seq

    def write(self, data: bytes) -> None:
        """Send raw bytes (frames, or deliberately broken ones)."""
        self._port.write(data)

    def recv(self, timeout_s: float) -> Message | None:
        """The next message from the device, or None when none arrives in ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while not self._pending:
            chunk = self._port.read(READ_CHUNK)
            for item in self._reader.feed(chunk):
                if isinstance(item, Frame):
                    self._pending.append(decode_message(item))
                else:
                    self.faults += 1
            if not self._pending and time.monotonic() > deadline:
                return None
        return self._pending.popleft()

    def expect(self, kind: type, timeout_s: float = 10.0) -> Message:
        """The next message of class ``kind``; others go to :attr:`seen`."""
        deadline = time.monotonic() + timeout_s
        while True:
            msg = self.recv(max(0.0, deadline - time.monotonic()))
            if msg is None:
                raise ProtocolError(
                    f"{self.url}: expected {kind.__name__} within {timeout_s} s, found none "
                    f"(after {len(self.seen)} other messages)"
                )
            if isinstance(msg, kind):
                return msg
            self.seen.append(msg)

    def close(self) -> None:
        """Close the serial port."""
        self._port.close()

    def __enter__(self) -> BoardConsole:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
