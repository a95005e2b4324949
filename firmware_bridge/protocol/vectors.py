"""Shared protocol test vectors, generated from the spec; the C side must match them byte for byte.

Regenerate the fixture after any change to the spec (the tests fail until you do)::

    .venv/bin/python -m firmware_bridge.protocol.vectors --out tests/fixtures/protocol_vectors.json

Sections: ``crc`` (data -> CRC-16), ``cobs`` (raw -> encoded), ``messages`` (fields -> payload ->
frame, one or more per type, edge sizes included), ``bad_frames`` (wire bytes -> the error code
a receiver must report) and ``bad_payloads`` (good frames whose payload size is wrong for the
type -> BAD_LENGTH when unpacked).
"""

from __future__ import annotations

import argparse
import json
import struct
from pathlib import Path

import numpy as np

from edge import protocol_spec as spec
from edge.data.clip import write_atomic
from edge.protocol_spec import ErrorCode, MsgType
from edge.vocab import vocab_hash
from firmware_bridge.protocol import messages as m
from firmware_bridge.protocol.framing import cobs_encode, crc16, encode_frame


def _hello(fw: str = "0.1.0", board: str = "qemu-m7") -> m.Hello:
    return m.Hello(
        protocol_version=spec.PROTOCOL_VERSION, max_payload=spec.MAX_PAYLOAD, rx_window=4,
        model_hash=0xDEADBEEF, vocab_hash=vocab_hash(), flash_budget=1 << 20,
        sram_budget=320 << 10, n_joints=spec.N_JOINTS, n_channels=spec.N_CHANNELS,
        input_scale=0.0078125, input_zero_point=-3, fps=22.0, hop=8, context_frames=32,
        input_frame=int(spec.InputFrame.BODY), fw_version=fw, board=board,
    )  # fmt: skip


def _stats() -> m.Stats:
    layout = spec.LAYOUTS[MsgType.STATS]
    vals = {n: (i + 1) * 1000 + i for i, n in enumerate(layout.names)}
    vals.update(enc_instr_total=(1 << 40) + 12345, dec_instr_total=(1 << 33) + 7,
                guard_broken=int(spec.Guard.STACK), counter_kind=int(spec.Counter.INSTRUCTIONS),
                ack_seq=0xFFFE, rx_pending=3)  # fmt: skip
    return m.Stats(**vals)


def _keypoints(frame_index: int) -> m.Keypoints:
    q = (np.arange(spec.N_JOINTS * spec.N_CHANNELS) * 37 % 256 - 128).astype(np.int8)
    return m.Keypoints.from_array(frame_index, q.reshape(spec.N_JOINTS, spec.N_CHANNELS))


def sample_messages() -> list[tuple[str, m.Message, int]]:
    """(name, message, seq) for every type, including the largest payloads."""
    many = tuple(m.EventItem((7 * i) % 243, 15385 * i) for i in range(spec.EVENTS_MAX_ITEMS))
    return [
        ("hello_req", m.HelloRequest(), 0),
        ("stats_req", m.StatsRequest(), 1),
        ("reset", m.Reset(), 0xFFFF),
        ("ping_empty", m.Ping(b""), 2),
        ("ping_zeros", m.Ping(bytes(300)), 3),
        ("ping_max", m.Ping(bytes(range(256)) * 2), 4),
        ("keypoints", _keypoints(123456), 5),
        ("hello", _hello(), 0),
        ("hello_long_strings", _hello("v" * spec.HELLO_STR_MAX, "b" * spec.HELLO_STR_MAX), 1),
        ("pong", m.Pong(b"\x00\x01\x02\xff"), 2),
        ("credit", m.Credit(ack_seq=5, credits=1, frame_index=123456), 3),
        ("events_empty", m.Events(7, 1_000_000, spec.EVENTS_FLAG_LAST, ()), 4),
        ("events_few", m.Events(8, 1_363_636, 0, (m.EventItem(39, 0), m.EventItem(208, 15385),
                                                   m.EventItem(127, 30770))), 5),  # fmt: skip
        ("events_max", m.Events(9, 0xFFFFFFFF, spec.EVENTS_FLAG_LAST, many), 0xFFFF),
        ("stats", _stats(), 6),
        ("error", m.Error(int(ErrorCode.BAD_CRC), spec.SEQ_NONE, "bad CRC"), 7),
        ("error_empty", m.Error(int(ErrorCode.OUT_OF_CREDITS), 42, ""), 8),
        ("error_long", m.Error(int(ErrorCode.INTERNAL), 9, "x" * spec.ERROR_DETAIL_MAX), 9),
    ]


def _raw(version: int, type_: int, seq: int, length: int, payload: bytes) -> bytes:
    body = struct.pack(spec.HEADER_FORMAT, version, type_, seq, length) + payload
    return body + struct.pack("<H", crc16(body))


def bad_frames() -> list[tuple[str, bytes, ErrorCode]]:
    """(name, wire bytes ending in 0x00, error code) for each way a frame can be bad."""
    good = encode_frame(MsgType.PING, 1, b"hello")
    flipped = bytearray(good)
    flipped[5] ^= 0x10  # a data byte inside the first block: CRC catches it
    v = spec.PROTOCOL_VERSION
    too_long = _raw(v, MsgType.PING, 1, spec.MAX_PAYLOAD + 1, bytes(spec.MAX_PAYLOAD + 1))
    zeros_long = bytes([1]) * (spec.MAX_RAW_FRAME + 2)  # COBS of 521 zeros: too long decoded
    return [
        ("bad_crc", bytes(flipped), ErrorCode.BAD_CRC),
        ("bad_cobs_truncated_block", good[:-3] + b"\x00", ErrorCode.BAD_COBS),
        ("bad_cobs_code_past_end", b"\x09\x01\x02\x00", ErrorCode.BAD_COBS),
        ("too_long", cobs_encode(too_long) + b"\x00", ErrorCode.TOO_LONG),
        ("too_long_zeros", zeros_long + b"\x00", ErrorCode.TOO_LONG),
        ("too_short_one", b"\x01\x00", ErrorCode.TOO_SHORT),
        ("too_short_seven", cobs_encode(bytes(range(1, 8))) + b"\x00", ErrorCode.TOO_SHORT),
        ("bad_version", cobs_encode(_raw(v + 1, MsgType.PING, 1, 0, b"")) + b"\x00",
         ErrorCode.BAD_VERSION),
        ("bad_length", cobs_encode(_raw(v, MsgType.PING, 1, 10, bytes(9))) + b"\x00",
         ErrorCode.BAD_LENGTH),
        ("unknown_type", encode_frame(0x42, 1, b"abc"), ErrorCode.UNKNOWN_TYPE),
    ]  # fmt: skip


def bad_payloads() -> list[tuple[str, int, bytes]]:
    """(name, type, payload) pairs that frame fine but do not fit their type's layout."""
    return [
        ("keypoints_short", MsgType.KEYPOINTS, bytes(spec.KEYPOINTS_SIZE - 1)),
        ("keypoints_long", MsgType.KEYPOINTS, bytes(spec.KEYPOINTS_SIZE + 1)),
        ("reset_nonempty", MsgType.RESET, b"\x01"),
        ("hello_req_nonempty", MsgType.HELLO_REQ, b"\x01\x02"),
        ("stats_req_nonempty", MsgType.STATS_REQ, b"\x00"),
        ("credit_short", MsgType.CREDIT, bytes(spec.LAYOUTS[MsgType.CREDIT].size - 1)),
    ]


def build_vectors() -> dict[str, object]:
    """The whole fixture as a JSON-ready dict."""
    crc_inputs = [b"123456789", b"", b"\x00", b"\xff" * 4, bytes(range(256))]
    cobs_inputs = [b"", b"\x00", b"\x00\x00", b"\x11\x22\x00\x33", bytes(range(1, 255)),
                   bytes(range(1, 256)), bytes(range(256)) * 2]  # fmt: skip
    msgs = [
        {"name": name, "type": int(msg.TYPE), "seq": seq, "fields": m.message_fields(msg),
         "payload": m.encode_payload(msg).hex(), "frame": m.encode_message(msg, seq).hex()}
        for name, msg, seq in sample_messages()
    ]  # fmt: skip
    return {
        "protocol_version": spec.PROTOCOL_VERSION,
        "crc": [{"data": d.hex(), "crc": crc16(d)} for d in crc_inputs],
        "cobs": [{"raw": d.hex(), "encoded": cobs_encode(d).hex()} for d in cobs_inputs],
        "messages": msgs,
        "bad_frames": [{"name": n, "wire": w.hex(), "code": int(c)} for n, w, c in bad_frames()],
        "bad_payloads": [
            {"name": n, "type": int(t), "frame": encode_frame(t, 1, p).hex(),
             "code": int(ErrorCode.BAD_LENGTH)}
            for n, t, p in bad_payloads()
        ],  # fmt: skip
    }


def render_json() -> str:
    """The fixture's text (stable: sorted keys, two-space indent, trailing newline)."""
    return json.dumps(build_vectors(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the fixture file."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="path of protocol_vectors.json")
    args = ap.parse_args(argv)
    write_atomic(args.out, render_json().encode())
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
