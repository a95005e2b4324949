"""Killing a streaming host mid-note (Ctrl-C, SIGTERM, a dropped sink) leaves no note held."""

from __future__ import annotations

import gc
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import mido
import pytest

from firmware_bridge.sinks import MemorySink, interrupt_on_termination

REPO = Path(__file__).resolve().parents[2]
HOST_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import mido
    from firmware_bridge.sinks import interrupt_on_termination, open_sink

    with interrupt_on_termination(), open_sink(sys.argv[1]) as sink:
        sink.send(mido.Message("note_on", channel=0, note=60, velocity=100))
        sink.send(mido.Message("note_on", channel=1, note=64, velocity=90))
        print("sounding", flush=True)
        while True:
            time.sleep(0.05)
    """
)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # what `cmd &` in a non-interactive shell does


@pytest.mark.parametrize(("signum", "started_in_background"),
                         [(signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGINT, True)])
def test_killed_host_process_releases_its_notes_on_the_din_line(
    signum: signal.Signals, started_in_background: bool
) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(60)
    port = server.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    host = subprocess.Popen(
        [sys.executable, "-c", HOST_SCRIPT, f"din:socket://127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=_ignore_sigint if started_in_background else None,  # noqa: PLW1509
    )
    try:
        conn, _ = server.accept()
        assert host.stdout is not None
        assert host.stdout.readline().strip() == "sounding"
        host.send_signal(signum)
        host.wait(timeout=60)
        received = bytearray()
        conn.settimeout(60)
        with conn:
            while chunk := conn.recv(4096):
                received.extend(chunk)
    finally:
        host.kill()
        host.wait()
        server.close()
    assert "KeyboardInterrupt" in (host.stderr.read() if host.stderr else "")
    parser = mido.Parser()
    parser.feed(bytes(received))
    assert list(parser) == [
        mido.Message("note_on", channel=0, note=60, velocity=100),
        mido.Message("note_on", channel=1, note=64, velocity=90),
        mido.Message("note_off", channel=0, note=60, velocity=0),
        mido.Message("note_off", channel=1, note=64, velocity=0),
        mido.Message("control_change", channel=0, control=123, value=0),
        mido.Message("control_change", channel=1, control=123, value=0),
    ]


def test_sigterm_becomes_keyboard_interrupt_only_inside_the_block() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"), interrupt_on_termination():
        with MemorySink() as sink:
            sink.send(mido.Message("note_on", note=60, velocity=1))
            os.kill(os.getpid(), signal.SIGTERM)
    assert sink.held_notes == frozenset() and sink.closed
    assert signal.getsignal(signal.SIGTERM) == before


def test_a_sink_dropped_without_close_still_releases_its_notes() -> None:
    sink = MemorySink()
    events = sink.events
    sink.send(mido.Message("note_on", note=60, velocity=1))
    del sink
    gc.collect()
    assert [m for _, m in events][-2:] == [
        mido.Message("note_off", note=60, velocity=0),
        mido.Message("control_change", control=123, value=0),
    ]
