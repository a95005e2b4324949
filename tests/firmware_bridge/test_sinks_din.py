"""The DIN sink: raw MIDI bytes (running status off) over serial URLs, parsed back by mido."""

from __future__ import annotations

import socket
import threading

import mido
import pytest
import serial

from firmware_bridge.errors import SinkError
from firmware_bridge.sinks import DIN_BAUDRATE, DinSink, open_sink

PERFORMANCE = [
    mido.Message("program_change", channel=0, program=0),
    mido.Message("note_on", channel=0, note=60, velocity=80),
    mido.Message("note_on", channel=0, note=64, velocity=70),  # same status: no running status
    mido.Message("note_off", channel=0, note=60, velocity=0),
    mido.Message("control_change", channel=2, control=64, value=127),
    mido.Message("note_on", channel=2, note=40, velocity=100),
    mido.Message("note_on", channel=0, note=64, velocity=0),
]
PANIC = [  # what close() appends: the note still held (ch 2, 40), then CC 123 on channels 0 and 2
    mido.Message("note_off", channel=2, note=40, velocity=0),
    mido.Message("control_change", channel=0, control=123, value=0),
    mido.Message("control_change", channel=2, control=123, value=0),
]


def parse(data: bytes) -> list[mido.Message]:
    parser = mido.Parser()
    parser.feed(data)
    return list(parser)


def test_din_bytes_over_loop_parse_back_into_the_same_messages_plus_panic() -> None:
    line = serial.serial_for_url("loop://", baudrate=DIN_BAUDRATE, timeout=0.5)
    with DinSink(line) as sink:
        for msg in PERFORMANCE:
            sink.send(msg)
    assert not line.closed  # borrowed: left open for its owner
    data = line.read(sink.bytes_written)
    line.close()
    # running status off: every message carries its own status byte, 3 bytes each (2 for PC)
    assert len(data) == 2 + 3 * (len(PERFORMANCE) - 1) + 3 * len(PANIC)
    assert data[2] == 0x90 and data[5] == 0x90
    assert parse(data) == PERFORMANCE + PANIC


def test_din_url_from_open_sink_over_a_socket_and_31250_baud() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    received = bytearray()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            while chunk := conn.recv(4096):
                received.extend(chunk)

    reader = threading.Thread(target=serve, daemon=True)
    reader.start()
    sink = open_sink(f"din:socket://127.0.0.1:{port}")
    try:
        assert isinstance(sink, DinSink)
        for msg in PERFORMANCE:
            sink.send(msg)
    finally:
        sink.close()  # owns the URL's port: closes it, so the reader sees EOF
    reader.join(timeout=10)
    server.close()
    assert not reader.is_alive()
    assert parse(bytes(received)) == PERFORMANCE + PANIC


def test_din_bad_url_names_the_url() -> None:
    with pytest.raises(SinkError, match="cannot open serial URL 'nosuchproto://x'"):
        open_sink("din:nosuchproto://x")
