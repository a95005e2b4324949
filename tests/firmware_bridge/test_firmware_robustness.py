"""Hostile input over the real emulated UART: the board answers every bad frame, never hangs.

A seeded corpus of at least 1,000 pieces and 10,000 bytes mixes random garbage (with stray delimiters), valid
frames with flipped bits, truncated frames, frames of a wrong protocol version, over-long
frames, device-to-host types, payloads of the wrong size, and valid PINGs. The Python
``FrameReader`` (the mirror of the C receiver) predicts how many bad frames the device must
count; the device must answer each with ERROR, answer every valid PING, and report the count
in STATS.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from edge import protocol_spec as spec
from firmware_bridge.boards import get_board
from firmware_bridge.boards.console import BoardConsole
from firmware_bridge.boards.qemu import QemuBoard
from firmware_bridge.build import build_firmware
from firmware_bridge.protocol import messages as m
from firmware_bridge.protocol.framing import Frame, FrameReader, encode_frame

pytestmark = pytest.mark.firmware
MIN_BYTES = 10_000
MIN_PIECES = 1_000
CHUNK = 512


def _corrupt(rng: np.random.Generator, frame: bytes) -> bytes:
    body = bytearray(frame[:-1])
    kind = rng.integers(4)
    if kind == 0:  # flip bits
        for _ in range(int(rng.integers(1, 4))):
            body[int(rng.integers(len(body)))] ^= 1 << int(rng.integers(8))
    elif kind == 1:  # truncate
        body = body[: int(rng.integers(1, len(body)))]
    elif kind == 2:  # drop one byte in the middle
        del body[int(rng.integers(len(body)))]
    else:  # insert a random byte
        body.insert(int(rng.integers(len(body))), int(rng.integers(1, 256)))
    return bytes(body) + b"\x00"


def _piece(rng: np.random.Generator, i: int) -> tuple[bytes, bool]:
    """One corpus piece and whether it is a valid PING (which must be answered)."""
    kind = int(rng.integers(16))
    ping = encode_frame(spec.MsgType.PING, i, rng.bytes(int(rng.integers(0, 40))))
    if kind < 3:
        return ping, True
    if kind < 6:
        return _corrupt(rng, ping), False
    if kind < 8:  # garbage, zeros included, sometimes closed by a delimiter
        return rng.bytes(int(rng.integers(1, 40))) + b"\x00" * int(rng.integers(2)), False
    if kind == 8:
        return encode_frame(spec.MsgType.PING, i, b"v", version=spec.PROTOCOL_VERSION + 1), False
    if kind == 9:
        return bytes(rng.integers(1, 256, 600, dtype=np.uint8)) + b"\x00", False  # too long
    if kind == 10:
        return encode_frame(spec.MsgType.STATS, i, b"\x01\x02"), False  # device type, bad size
    if kind == 11:
        return encode_frame(spec.MsgType.KEYPOINTS, i, rng.bytes(10)), False  # wrong size
    frame = encode_frame(spec.MsgType.KEYPOINTS, i, rng.bytes(spec.KEYPOINTS_SIZE))
    return _corrupt(rng, frame), False


def hostile_corpus(seed: int) -> tuple[bytes, int, int]:
    """(bytes, valid PINGs, expected bad frames) with the device's own accounting."""
    rng = np.random.default_rng(seed)
    out, pings, i = bytearray(), 0, 0
    while len(out) < MIN_BYTES or i < MIN_PIECES:
        piece, is_ping = _piece(rng, i)
        out += piece
        pings += is_ping
        i += 1
    out += b"\x00"  # close whatever garbage left open
    reader = FrameReader()
    bad = good_pings = 0
    for item in reader.feed(bytes(out)):
        if not isinstance(item, Frame):
            bad += 1
        elif item.type == spec.MsgType.PING:
            good_pings += 1
        else:  # a well-framed message the device refuses (wrong size or direction)
            assert item.type in (spec.MsgType.STATS, spec.MsgType.KEYPOINTS), item
            bad += 1
    return bytes(out), good_pings, bad


def test_corpus_is_hostile_enough() -> None:
    data, pings, bad = hostile_corpus(2024)
    assert len(data) >= MIN_BYTES and bad >= 500 and pings >= 100


@pytest.mark.slow
@pytest.mark.parametrize("board", ["qemu-m7", "qemu-m55"])
def test_board_survives_hostile_bytes(board: str, tmp_path: Path) -> None:
    data, pings, bad = hostile_corpus(2024 if board == "qemu-m7" else 55)
    elf = build_firmware(board, out_dir=tmp_path / "out").elf
    with QemuBoard(get_board(board), elf) as q, BoardConsole(q.url) as c:
        c.expect(m.Hello)
        c.send(m.Ping(b"warm-up"))
        c.expect(m.Pong)
        got: list[m.Message] = []
        done = threading.Event()

        def drain() -> None:
            while not done.is_set():
                msg = c.recv(0.05)
                if msg is not None:
                    got.append(msg)

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        for start in range(0, len(data), CHUNK):
            c.write(data[start : start + CHUNK])
        c.send(m.Ping(b"still alive?"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
            isinstance(x, m.Pong) and x.data == b"still alive?" for x in got
        ):
            time.sleep(0.05)
        done.set()
        reader.join()
        c.send(m.StatsRequest())
        stats = c.expect(m.Stats)
    errors = [x for x in got if isinstance(x, m.Error)]
    pongs = [x for x in got if isinstance(x, m.Pong)]
    assert pongs and pongs[-1].data == b"still alive?"
    assert len(pongs) == pings + 1
    assert len(errors) == bad
    assert stats.frames_bad == bad
    # warm-up PING + valid PINGs + refused well-framed messages + last PING + STATS_REQ
    assert stats.frames_rx == 1 + pings + (bad - _framing_faults(data)) + 1 + 1
    assert stats.guard_broken == 0
    assert c.faults == 0  # everything the device sent was well framed


def _framing_faults(data: bytes) -> int:
    return sum(not isinstance(x, Frame) for x in FrameReader().feed(data))
