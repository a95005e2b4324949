"""DeviceLink against a real C peer (fake_device.c built from fe_proto.c) and loop://."""

from __future__ import annotations

import importlib.util
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from edge import protocol_spec as spec
from edge.protocol_spec import ErrorCode
from firmware_bridge.errors import BridgeError, ProtocolError
from firmware_bridge.link import DeviceLink, DisconnectedError
from firmware_bridge.protocol import messages as m


def _load_harness():
    path = Path(__file__).parent / "c" / "harness.py"
    spec = importlib.util.spec_from_file_location("fe_c_harness", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


harness = _load_harness()
pytestmark = pytest.mark.skipif(not harness.have_gcc(), reason="needs a host gcc")


@pytest.fixture(scope="module")
def fake_exe(tmp_path_factory) -> Path:
    return harness.build_fake_device(tmp_path_factory.mktemp("fake"))


@pytest.fixture
def device(fake_exe) -> Iterator:
    """start(*options) -> socket URL of a fresh fake device; stopped after the test."""
    procs: list[subprocess.Popen] = []

    def start(*options: str) -> str:
        proc = subprocess.Popen([fake_exe, *options], stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        line = proc.stdout.readline().split()
        assert line and line[0] == "PORT", f"fake device did not start: {line}"
        return f"socket://127.0.0.1:{line[1]}"

    yield start
    for p in procs:
        p.kill()
        p.wait()


def _frame(i: int) -> np.ndarray:
    return ((np.arange(195) * (i + 3)) % 256 - 128).astype(np.int8).reshape(65, 3)


def _expected_token(i: int) -> int:
    return (i * 7 + int(_frame(i).astype(np.int64).sum())) % 243


def _stream(link: DeviceLink, frames: range) -> list[m.Message]:
    got = []
    for i in frames:
        link.send_keypoints(i, _frame(i))
        assert link.in_flight <= link.window
        got += link.poll()
    link.drain_credits()
    return got + list(link.messages(idle_timeout=0.3))


def test_handshake_ping_stats(device):
    with DeviceLink(device()) as link:
        hello = link.handshake()
        assert (hello.board, hello.rx_window, hello.n_joints) == ("host-fake", 4, 65)
        link.ping(b"\x00hello\x00")
        link.ping(bytes(512))
        stats = link.request_stats()
        assert stats.frames_rx == 4 and stats.frames_bad == 0


def test_refuses_protocol_mismatch(device):
    other = spec.PROTOCOL_VERSION + 1
    with DeviceLink(device("--version", str(other)), timeout=1.0) as link:
        with pytest.raises(ProtocolError, match=f"firmware speaks protocol {other}, host speaks "
                                                f"{spec.PROTOCOL_VERSION}"):
            link.handshake()


def test_refuses_vocabulary_mismatch(device):
    with DeviceLink(device("--vocab-hash", "0x12345678"), timeout=1.0) as link:
        with pytest.raises(ProtocolError, match="firmware vocabulary hash 0x12345678"):
            link.handshake()


def test_stream_respects_credits_and_events_match(device):
    url = device("--window", "2", "--hop", "4", "--slow-us", "3000")
    with DeviceLink(url) as link:
        link.handshake()
        got = _stream(link, range(40))
        events = [x for x in got if isinstance(x, m.Events)]
        assert [e.hop_index for e in events] == list(range(10))
        tokens = [t for e in events for t in e.tokens]
        assert tokens == [_expected_token(i) for i in range(40)]
        assert not [x for x in got if isinstance(x, m.Error)]  # never out of credits
        stats = link.request_stats()
        assert stats.keypoints_rx == 40 and stats.frames_bad == 0 and stats.rx_pending == 0


def test_device_survives_10k_garbage_bytes_and_reports_them(device):
    rng = np.random.default_rng(1)
    with DeviceLink(device()) as link:
        link.handshake()
        port = link._require_port()  # raw access: the link itself never sends garbage
        for i in range(10):
            flipped = bytearray(m.encode_message(m.Ping(b"flip me"), 100 + i))
            flipped[9] ^= 0x20  # a payload byte ("flip me"): the CRC must catch it
            port.write(rng.integers(0, 256, 1000, dtype=np.uint8).tobytes() + b"\x00" + flipped)
            link.ping(b"still there?")
        errors = [x for x in link.messages(idle_timeout=0.3) if isinstance(x, m.Error)]
        stats = link.request_stats()
        assert stats.frames_bad == len(errors) > 10
        assert {e.code for e in errors} <= {int(c) for c in ErrorCode}
        assert ErrorCode.BAD_CRC in {e.code for e in errors}


def test_device_reboot_mid_stream_resets_credits(device):
    with DeviceLink(device("--reboot-after", "6", "--hop", "3")) as link:
        link.handshake()
        got = _stream(link, range(12))
        assert link.resets == 1
        assert any(isinstance(x, m.Hello) for x in got)
        assert link.request_stats().keypoints_rx == 6  # frames after the reboot


def test_reconnect_after_the_device_drops_the_line(device):
    with DeviceLink(device("--drop-after", "5"), timeout=1.0) as link:
        link.handshake()
        with pytest.raises(DisconnectedError):
            _stream(link, range(50))
        hello = link.reconnect()
        assert hello.board == "host-fake"
        _stream(link, range(3))
        assert link.request_stats().keypoints_rx == 3


def test_reset_starts_over(device):
    with DeviceLink(device()) as link:
        link.handshake()
        _stream(link, range(5))
        hello = link.reset()
        assert hello.rx_window == 4 and link.in_flight == 0
        assert link.request_stats().keypoints_rx == 0


def test_resync_on_garbage_from_the_device():
    with DeviceLink("loop://", timeout=0.5) as link:
        port = link._require_port()
        port.write(b"\x07\x99garbage\x00\xff" * 3 + b"\x00" + m.encode_message(m.Pong(b"ok"), 3))
        assert link.receive() == m.Pong(b"ok")
        assert link.bad_frames == 4


def _hello(board: str) -> m.Hello:
    from edge.vocab import vocab_hash

    return m.Hello(protocol_version=spec.PROTOCOL_VERSION, max_payload=512, rx_window=4,
                   model_hash=1, vocab_hash=vocab_hash(), flash_budget=1 << 20,
                   sram_budget=320 << 10, n_joints=65, n_channels=3, input_scale=1 / 127,
                   input_zero_point=0, fps=22.0, hop=4, context_frames=44, input_frame=1,
                   fw_version="t", board=board)


def test_a_boot_hello_and_the_answer_read_together_are_one_handshake():
    """A booting device announces itself (seq 0) and then answers HELLO_REQ (seq 1); read in
    one go, the answer must not be left queued to pass later for a device restart."""
    with DeviceLink("loop://", timeout=0.5) as link:
        port = link._require_port()
        port.write(m.encode_message(_hello("boot"), 0) + m.encode_message(_hello("answer"), 1))
        assert link.handshake().board == "answer"  # the newest
        assert not [x for x in link.poll() if isinstance(x, m.Hello)]
        assert link.resets == 0


def test_timeouts_are_clear_bridge_errors():
    with DeviceLink("loop://", timeout=0.2) as link:
        with pytest.raises(BridgeError, match=r"no HELLO from 'loop://' within 0.2 s"):
            link.handshake()
        with pytest.raises(BridgeError, match="before handshake"):
            link.send_keypoints(0, _frame(0))


def test_open_failure_names_the_url():
    with pytest.raises(BridgeError, match="cannot open device link 'socket://127.0.0.1:1'"):
        DeviceLink("socket://127.0.0.1:1").open()
