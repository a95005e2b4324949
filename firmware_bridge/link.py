"""The host end of the board link: handshake, ping, credit-limited keypoint streaming, messages.

``DeviceLink(url)`` opens any pyserial ``serial_for_url`` URL (``/dev/ttyACM0``,
``socket://127.0.0.1:PORT`` for QEMU's emulated UART, ``loop://``). The steps::

    with DeviceLink("socket://127.0.0.1:4321") as link:
        hello = link.handshake()          # refuses protocol / vocabulary mismatches
        link.ping(b"hi")
        for i, q in enumerate(frames):    # q: int8 [65, 3]
            link.send_keypoints(i, q)     # blocks while rx_window frames are unacknowledged
            for msg in link.poll():       # EVENTS, ERROR, STATS, HELLO (device reset) ...
                ...

Flow control: the device's HELLO announces ``rx_window``; each KEYPOINTS frame stays "in
flight" until a CREDIT acknowledges its seq (acks are cumulative, so a lost CREDIT is repaired
by the next). Bad frames from the device are counted (``bad_frames``) and skipped: the reader
resynchronises at the next 0x00. A HELLO with seq 0 after the handshake means the device
restarted: ``resets`` counts it and the HELLO is passed on. Frames the device lost (corrupted
on the way, dropped by a restart) are released when a later frame is acknowledged, or, when
credits stall, by asking STATS: nothing pending on the device means nothing more will come.
"""

from __future__ import annotations

import socket
import time
from collections import deque
from collections.abc import Callable, Iterator

import numpy as np
import serial

from edge.protocol_spec import PROTOCOL_VERSION, ErrorCode
from edge.vocab import vocab_hash
from firmware_bridge.errors import BridgeError, ProtocolError
from firmware_bridge.protocol import messages as m
from firmware_bridge.protocol.framing import Frame, FrameFault, FrameReader


class DisconnectedError(BridgeError):
    """The device went away (socket closed, serial port vanished); ``reconnect()`` may help."""


def check_hello(hello: m.Hello, *, expected_vocab_hash: int) -> None:
    """Refuse firmware whose protocol or vocabulary differs from the host's, saying which."""
    if hello.protocol_version != PROTOCOL_VERSION:
        raise ProtocolError(
            f"firmware speaks protocol {hello.protocol_version}, host speaks {PROTOCOL_VERSION}"
        )
    if hello.vocab_hash != expected_vocab_hash:
        raise ProtocolError(
            f"firmware vocabulary hash 0x{hello.vocab_hash:08X}, host vocabulary hash "
            f"0x{expected_vocab_hash:08X}: the firmware was built for another token vocabulary"
        )


READ_CHUNK = 4096  # bytes taken from the port per read once one has arrived


def _no_delay(port: serial.SerialBase) -> None:
    """Send each write at once on a TCP link (socket://, e.g. QEMU's UART), as QEMU's side
    does (nodelay=on); pyserial does not set it on ours.

    Without TCP_NODELAY, Nagle's algorithm may hold a small write while an earlier one is
    unacknowledged. On QEMU here it made no measurable difference (the slow answers were the
    one-byte reads :meth:`DeviceLink._pump` no longer does); it keeps a frame from waiting on
    the peer's delayed ACK. A serial port has no socket: nothing to do.
    """
    sock = getattr(port, "_socket", None)
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class DeviceLink:
    """A framed, credit-limited conversation with one device over a serial URL."""

    def __init__(self, url: str, *, timeout: float = 2.0, baudrate: int = 115200) -> None:
        self.url = url  # any serial_for_url URL
        self.timeout = timeout  # seconds to wait for any expected answer
        self.baudrate = baudrate  # ignored by socket:// and loop://
        self.hello: m.Hello | None = None  # the device's last HELLO
        self.bad_frames = 0  # frames from the device that failed framing checks
        self.last_fault: FrameFault | None = None  # the most recent of those
        self.resets = 0  # device restarts seen after the handshake
        self._port: serial.SerialBase | None = None
        self._reader = FrameReader()
        self._inbox: deque[m.Message] = deque()
        self._in_flight: deque[int] = deque()  # seqs of unacknowledged KEYPOINTS
        self._tx_seq = 0
        self._awaiting_hello = False  # inside handshake() / reset()

    # ---- opening and closing -------------------------------------------------------------

    def open(self) -> DeviceLink:
        """Open the URL; :class:`BridgeError` saying the URL and why when it cannot."""
        try:
            self._port = serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=0.05)
        except (serial.SerialException, ValueError, OSError) as exc:
            raise BridgeError(f"cannot open device link {self.url!r}: {exc}") from exc
        _no_delay(self._port)
        self._reader = FrameReader()
        self._inbox.clear()
        self._in_flight.clear()
        return self

    def close(self) -> None:
        """Close the port (idempotent)."""
        if self._port is not None:
            self._port.close()
            self._port = None

    def __enter__(self) -> DeviceLink:
        return self.open() if self._port is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the conversation ----------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """KEYPOINTS frames sent and not yet acknowledged."""
        return len(self._in_flight)

    @property
    def window(self) -> int:
        """Credits the device granted (its HELLO's rx_window); 0 before the handshake."""
        return self.hello.rx_window if self.hello else 0

    def handshake(self) -> m.Hello:
        """Ask for HELLO and check it; :class:`ProtocolError` names the mismatch."""
        self._send(m.HelloRequest())
        self._awaiting_hello = True
        try:
            hello = self._wait_for(lambda x: isinstance(x, m.Hello), "HELLO", handshake=True)
            hello = self._last_hello(hello)  # type: ignore[arg-type]
        finally:
            self._awaiting_hello = False
        self._accept_hello(hello)
        return hello

    def ping(self, data: bytes = b"") -> float:
        """Send PING, wait for the matching PONG; returns the round trip in seconds."""
        t0 = time.monotonic()
        self._send(m.Ping(data))
        self._wait_for(lambda x: isinstance(x, m.Pong) and x.data == data, "PONG")
        return time.monotonic() - t0

    def request_stats(self) -> m.Stats:
        """Ask for and return the device's STATS."""
        self._send(m.StatsRequest())
        return self._wait_for(lambda x: isinstance(x, m.Stats), "STATS")  # type: ignore[return-value]

    def reset(self) -> m.Hello:
        """Send RESET and wait for the fresh HELLO (seq 0); credits start over."""
        self._send(m.Reset())
        self._awaiting_hello = True
        try:
            hello = self._wait_for(lambda x: isinstance(x, m.Hello), "HELLO after RESET")
            hello = self._last_hello(hello)  # type: ignore[arg-type]
        finally:
            self._awaiting_hello = False
        self._accept_hello(hello)
        return hello

    def _last_hello(self, first: m.Hello) -> m.Hello:
        """The newest of ``first`` and the HELLOs still queued behind it, which are taken off.

        A device booting sends a HELLO of its own before it answers HELLO_REQ: when both arrive
        in one read they are queued together, and the one left behind would later look like a
        restart (a HELLO after the handshake) and shift the stream's timeline by the frames sent
        meanwhile. Every HELLO queued by now belongs to this handshake or reset.
        """
        queued = [x for x in self._inbox if isinstance(x, m.Hello)]
        if queued:
            self._inbox = deque(x for x in self._inbox if not isinstance(x, m.Hello))
        return queued[-1] if queued else first

    def reconnect(self, *, within_s: float = 10.0) -> m.Hello:
        """Reopen the URL (retrying while the device restarts) and handshake again."""
        self.close()
        deadline = time.monotonic() + within_s
        while True:
            try:
                self.open()
                return self.handshake()
            except BridgeError as exc:
                self.close()
                if isinstance(exc, ProtocolError) or time.monotonic() > deadline:
                    raise BridgeError(f"reconnect to {self.url!r} failed: {exc}") from exc
                time.sleep(0.1)

    def send_keypoints(self, frame_index: int, q: np.ndarray) -> int:
        """Send one int8 [65, 3] frame once a credit is free; returns the frame's seq."""
        if self.hello is None:
            raise BridgeError("send_keypoints before handshake: no credits granted yet")
        msg = m.Keypoints.from_array(frame_index, q)
        self._wait_in_flight_below(self.window)
        seq = self._send(msg)
        self._in_flight.append(seq)
        return seq

    def poll(self) -> list[m.Message]:
        """Every message that has arrived so far (non-blocking)."""
        self._pump(0.0)
        out = list(self._inbox)
        self._inbox.clear()
        return out

    def receive(self, timeout: float | None = None) -> m.Message | None:
        """The next message, or None after ``timeout`` seconds (default: the link's)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not self._inbox:
            if not self._pump(deadline - time.monotonic()):
                if time.monotonic() >= deadline:
                    return None
        return self._inbox.popleft()

    def messages(self, idle_timeout: float | None = None) -> Iterator[m.Message]:
        """Received messages until none arrives for ``idle_timeout`` seconds."""
        while (msg := self.receive(idle_timeout)) is not None:
            yield msg

    def drain_credits(self) -> None:
        """Wait until every KEYPOINTS frame sent has been acknowledged."""
        self._wait_in_flight_below(1)

    # ---- internals ---------------------------------------------------------------------

    def _require_port(self) -> serial.SerialBase:
        if self._port is None:
            raise BridgeError(f"device link {self.url!r} is not open")
        return self._port

    def _send(self, msg: m.Message) -> int:
        seq, self._tx_seq = self._tx_seq, (self._tx_seq + 1) & 0xFFFF
        try:
            self._require_port().write(m.encode_message(msg, seq))
        except (serial.SerialException, OSError) as exc:
            raise DisconnectedError(f"device link {self.url!r}: write failed: {exc}") from exc
        return seq

    def _pump(self, wait_s: float, *, handshake: bool = False) -> bool:
        """Read what is available (waiting up to ``wait_s``); True when a message arrived."""
        port = self._require_port()
        try:
            port.timeout = max(0.0, min(wait_s, 0.05))
            data = port.read(1)  # wait for the first byte...
            if data:  # ...then take all that is there: socket:// reports in_waiting as 0 or 1
                port.timeout = 0.0
                data += port.read(READ_CHUNK)
        except (serial.SerialException, OSError) as exc:
            raise DisconnectedError(f"device link {self.url!r}: {exc}") from exc
        before = len(self._inbox)
        for item in self._reader.feed(data):
            if isinstance(item, Frame):
                self._on_frame(item)
            else:
                self._on_fault(item, handshake=handshake)
        return len(self._inbox) > before

    def _on_fault(self, fault: FrameFault, *, handshake: bool) -> None:
        self.bad_frames += 1
        self.last_fault = fault
        if fault.code is ErrorCode.BAD_VERSION and (handshake or self.hello is None):
            raise ProtocolError(
                f"firmware speaks protocol {fault.version}, host speaks {PROTOCOL_VERSION}"
            )

    def _on_frame(self, frame: Frame) -> None:
        try:
            msg = m.decode_message(frame)
        except m.MessageError as exc:
            self._on_fault(FrameFault(exc.code, str(exc), frame.version, frame.seq), handshake=False)
            return
        if isinstance(msg, m.Credit):
            self._release(msg.ack_seq)
            return
        if isinstance(msg, m.Hello) and self.hello is not None:
            if frame.seq != 0 and not self._awaiting_hello:
                return  # a late answer to an earlier HELLO_REQ
            if frame.seq == 0:  # the device restarted: frames it held are lost
                self.resets += 1
                self._accept_hello(msg, keep_in_flight=True)
        if isinstance(msg, m.Error) and msg.code == ErrorCode.OUT_OF_CREDITS:
            if msg.ref_seq in self._in_flight:
                self._in_flight.remove(msg.ref_seq)
        self._inbox.append(msg)

    def _accept_hello(self, hello: m.Hello, *, keep_in_flight: bool = False) -> None:
        check_hello(hello, expected_vocab_hash=vocab_hash())
        self.hello = hello
        if not keep_in_flight:  # frames sent after the restart may be in its buffer already
            self._in_flight.clear()

    def _release(self, ack_seq: int) -> None:
        if ack_seq not in self._in_flight:
            return
        while self._in_flight.popleft() != ack_seq:
            pass

    def _wait_in_flight_below(self, limit: int) -> None:
        deadline = time.monotonic() + self.timeout
        resync_at = time.monotonic() + min(0.5, self.timeout / 4)
        while len(self._in_flight) >= limit:
            now = time.monotonic()
            if now >= deadline:
                raise BridgeError(
                    f"no credit returned by {self.url!r} within {self.timeout:.1f} s: "
                    f"{len(self._in_flight)} KEYPOINTS frames in flight (window {self.window})"
                )
            if now >= resync_at:
                self._resync_credits()
                resync_at = deadline
            self._pump(deadline - now)

    def _resync_credits(self) -> None:
        """Forget frames the device lost (bad CRC on the way, dropped in a restart).

        The device answers STATS_REQ after every byte sent before it; if it then has nothing
        buffered, whatever is still unacknowledged will never be: release it.
        """
        if self.request_stats().rx_pending == 0:
            self._in_flight.clear()

    def _wait_for(
        self, pred: Callable[[m.Message], bool], what: str, *, handshake: bool = False
    ) -> m.Message:
        deadline = time.monotonic() + self.timeout
        while True:
            for i, msg in enumerate(self._inbox):
                if pred(msg):
                    del self._inbox[i]
                    return msg
            left = deadline - time.monotonic()
            if left <= 0:
                raise BridgeError(
                    f"no {what} from {self.url!r} within {self.timeout:.1f} s "
                    f"({len(self._inbox)} other messages, {self.bad_frames} bad frames)"
                )
            self._pump(left, handshake=handshake)
