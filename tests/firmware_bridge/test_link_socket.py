"""DeviceLink over a TCP socket (QEMU's UART is one): a burst is read in one poll, writes go
out at once. Before, ``poll`` read one byte per call (pyserial's socket:// reports
``in_waiting`` as 0 or 1), so a hop's EVENTS reached a paced host frames late."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from firmware_bridge.link import DeviceLink
from firmware_bridge.protocol import messages as m

BURST = 40  # PONG frames the peer sends in one write (~1 KB)


@pytest.fixture
def peer() -> Iterator[tuple[str, threading.Event, list[socket.socket]]]:
    """(socket URL, event to send the burst, [the accepted connection]) of a one-shot peer."""
    server = socket.create_server(("127.0.0.1", 0))
    go, conns = threading.Event(), []

    def serve() -> None:
        conn, _ = server.accept()
        conns.append(conn)
        if go.wait(10.0):
            conn.sendall(b"".join(m.encode_message(m.Pong(bytes([k])), k) for k in range(BURST)))

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield f"socket://127.0.0.1:{server.getsockname()[1]}", go, conns
    go.set()
    t.join(5.0)
    for c in conns:
        c.close()
    server.close()


def test_one_poll_takes_every_message_that_arrived(peer) -> None:  # noqa: ANN001
    url, go, _ = peer
    with DeviceLink(url) as link:
        go.set()
        time.sleep(0.2)  # the burst is in the host's socket buffer
        got = link.poll()
    assert [msg.data for msg in got] == [bytes([k]) for k in range(BURST)]


def test_socket_link_sends_without_nagle_delay(peer) -> None:  # noqa: ANN001
    url, _, _ = peer
    with DeviceLink(url) as link:
        sock = link._port._socket  # type: ignore[union-attr]  # pyserial's socket:// handle
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
