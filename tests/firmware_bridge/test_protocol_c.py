"""The C protocol (edge/firmware/protocol/fe_proto.c) against Python: shared vectors, fuzzing."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edge.protocol_spec import MAX_PAYLOAD, MsgType
from firmware_bridge.protocol import vectors
from firmware_bridge.protocol.framing import Frame, FrameReader, crc16, encode_frame


def _load_harness():
    path = Path(__file__).parent / "c" / "harness.py"
    spec = importlib.util.spec_from_file_location("fe_c_harness", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


harness = _load_harness()
pytestmark = pytest.mark.skipif(not harness.have_gcc(), reason="needs a host gcc")


def _build_vectors(out: Path, vec: dict) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "vectors_data.h").write_text(harness.render_vectors_c(vec))
    return harness.build(out, "vectors", [harness.HERE / "vectors_check.c"])


@pytest.fixture(scope="module")
def fuzz_exe(tmp_path_factory) -> Path:
    return harness.build(tmp_path_factory.mktemp("fuzz"), "fuzz_rx", [harness.HERE / "fuzz_rx.c"])


def test_fixture_matches_spec():
    """The committed fixture is what the spec generates now (else: rerun the documented command)."""
    assert harness.FIXTURE.read_text() == vectors.render_json()


def test_c_matches_every_shared_vector(tmp_path):
    vec = harness.load_vectors()
    res = subprocess.run([_build_vectors(tmp_path, vec)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    n_msgs = len(vec["messages"])
    assert f"{n_msgs} messages" in res.stdout and "0 failures" in res.stdout


def test_c_harness_catches_a_changed_vector(tmp_path):
    """A field changed on the Python side only must make the C check fail."""
    vec = json.loads(json.dumps(harness.load_vectors()))
    hello = next(v for v in vec["messages"] if v["name"] == "hello")
    hello["fields"]["model_hash"] ^= 1
    bad = next(v for v in vec["bad_frames"] if v["name"] == "bad_crc")
    bad["code"] = 2
    res = subprocess.run([_build_vectors(tmp_path, vec)], capture_output=True, text=True)
    assert res.returncode == 2, res.stdout
    assert "hello: payload differs" in res.stdout and "bad_crc" in res.stdout


def _hostile_stream(rng: np.random.Generator, n_bytes: int) -> tuple[bytes, list[int]]:
    """Good frames, garbage, truncated/oversized/bit-flipped frames; seqs of resynced good ones."""
    out, good_seqs, seq = bytearray(), [], 0
    while len(out) < n_bytes:
        kind = rng.integers(5)
        payload = rng.integers(0, 256, rng.integers(0, MAX_PAYLOAD + 1), dtype=np.uint8).tobytes()
        frame = bytearray(encode_frame(MsgType.PING, 40000 + seq, payload))
        if kind == 0:
            out += rng.integers(0, 256, rng.integers(1, 600), dtype=np.uint8).tobytes()
        elif kind == 1:
            out += frame[: rng.integers(1, len(frame) - 1)]
        elif kind == 2:
            out += rng.integers(1, 256, rng.integers(530, 1500), dtype=np.uint8).tobytes()
        elif kind == 3:
            for _ in range(rng.integers(1, 4)):
                frame[rng.integers(len(frame) - 1)] ^= 1 << int(rng.integers(8))
            out += frame
        else:
            out += frame  # good on its own
        seq += 1
        out += b"\x00" + encode_frame(MsgType.PING, seq, seq.to_bytes(2, "little"))
        good_seqs.append(seq)
        seq += 1
    return bytes(out), good_seqs


def _python_events(stream: bytes) -> list[str]:
    lines = []
    for ev in FrameReader().feed(stream):
        if isinstance(ev, Frame):
            lines.append(f"F {int(ev.type)} {ev.seq} {len(ev.payload)} {crc16(ev.payload)}")
        else:
            lines.append(f"E {int(ev.code)}")
    return lines


def test_c_and_python_receivers_agree_on_100k_hostile_bytes(fuzz_exe, tmp_path):
    stream, good_seqs = _hostile_stream(np.random.default_rng(6), 120_000)
    path = tmp_path / "stream.bin"
    path.write_bytes(stream)
    res = subprocess.run([fuzz_exe, "replay", path], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-4000:]
    c_lines, py_lines = res.stdout.splitlines(), _python_events(stream)
    assert c_lines == py_lines
    decoded_seqs = {int(x.split()[2]) for x in py_lines if x.startswith("F")}
    assert set(good_seqs) <= decoded_seqs  # every good frame after a bad one decoded
    codes = {int(x.split()[1]) for x in py_lines if x.startswith("E")}
    assert {1, 2, 3} <= codes  # bad CRC, bad COBS and too long all met and reported
    assert sum(x.startswith("E") for x in py_lines) > 200


def test_c_receiver_survives_random_bytes(fuzz_exe):
    res = subprocess.run([fuzz_exe, "random", "300000", "12345"], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-4000:]
    assert "0 failures" in res.stdout
