"""The Python protocol: CRC/COBS known answers, framing faults, messages, property tests."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge import protocol_spec as spec
from edge.protocol_spec import ErrorCode, MsgType
from edge.vocab import vocab_hash
from firmware_bridge.errors import BridgeError, ProtocolError
from firmware_bridge.protocol import messages as m
from firmware_bridge.protocol.framing import (
    Frame,
    FrameFault,
    FrameReader,
    cobs_decode,
    cobs_encode,
    crc16,
    encode_frame,
    parse_frame,
)
from firmware_bridge.protocol.vectors import sample_messages


def test_crc16_ccitt_false_check_value():
    assert crc16(b"123456789") == 0x29B1 == spec.CRC16_CHECK
    assert crc16(b"") == 0xFFFF


def test_cobs_known_answers():
    assert cobs_encode(b"") == b"\x01"
    assert cobs_encode(b"\x00") == b"\x01\x01"
    assert cobs_encode(b"\x11\x22\x00\x33") == b"\x03\x11\x22\x02\x33"
    assert cobs_encode(bytes(range(1, 255))) == b"\xff" + bytes(range(1, 255)) + b"\x01"


def test_errors_are_in_the_project_tree():
    assert issubclass(m.MessageError, ProtocolError) and issubclass(ProtocolError, BridgeError)


def test_header_and_limits():
    assert spec.HEADER_SIZE == 6 and spec.KEYPOINTS_SIZE == 4 + 65 * 3
    assert spec.MAX_ENCODED_FRAME == 524
    frame = encode_frame(MsgType.PING, 0x1234, b"ab")
    assert frame[-1] == 0 and b"\x00" not in frame[:-1]


def test_c_header_has_every_type_error_and_offset():
    h = spec.c_header()
    for t in MsgType:
        assert f"#define FE_MSG_{t.name} 0x{t.value:02X}u" in h
    for e in ErrorCode:
        assert f"#define FE_ERR_{e.name} {e.value}" in h
    assert "#define FE_STATS_OFF_ENC_INSTR_TOTAL 20" in h
    assert f"#define FE_STATS_FIXED_SIZE {spec.LAYOUTS[MsgType.STATS].size}" in h


@pytest.mark.parametrize(("name", "msg", "seq"), sample_messages(), ids=lambda x: str(x)[:20])
def test_every_sample_message_round_trips(name, msg, seq):
    (frame,) = FrameReader().feed(m.encode_message(msg, seq))
    assert isinstance(frame, Frame) and frame.seq == seq and frame.type is msg.TYPE
    assert m.decode_message(frame) == msg


def test_bad_version_reports_the_version_found():
    other = spec.PROTOCOL_VERSION + 1
    raw = bytes([other, MsgType.HELLO, 0, 0, 0, 0])
    raw += crc16(raw).to_bytes(2, "little")
    fault = parse_frame(raw)
    assert isinstance(fault, FrameFault) and fault.code is ErrorCode.BAD_VERSION
    assert fault.version == other
    assert f"expected protocol {spec.PROTOCOL_VERSION}, found {other}" in fault.detail


def test_payload_errors_say_expected_and_found():
    with pytest.raises(m.MessageError, match="expected 199 bytes, found 3"):
        m.decode_payload(MsgType.KEYPOINTS, b"abc")
    with pytest.raises(m.MessageError, match="at most 32 bytes"):
        m.encode_payload(sample_messages()[7][1].__class__(**{
            **m.message_fields(sample_messages()[7][1]), "board": "x" * 33}))  # fmt: skip
    with pytest.raises(ProtocolError, match="at most 512 bytes, found 513"):
        encode_frame(MsgType.PING, 0, bytes(513))
    with pytest.raises(m.MessageError, match="expected int8"):
        m.Keypoints.from_array(0, np.zeros((65, 3), np.float32))
    with pytest.raises(ProtocolError, match="bad COBS"):
        cobs_decode(b"\x05\x01")


def test_hello_vocab_hash_is_the_vocabulary_hash():
    hello = next(msg for name, msg, _ in sample_messages() if name == "hello")
    assert hello.vocab_hash == vocab_hash()


def test_keypoints_array_round_trip():
    q = np.random.default_rng(0).integers(-128, 128, (65, 3)).astype(np.int8)
    msg = m.Keypoints.from_array(9, q)
    (frame,) = FrameReader().feed(m.encode_message(msg, 1))
    np.testing.assert_array_equal(m.decode_message(frame).array(), q)


# ---- property tests -------------------------------------------------------------------------


@given(st.binary(max_size=1200))
def test_cobs_round_trip_and_no_zero(data):
    enc = cobs_encode(data)
    assert b"\x00" not in enc and len(enc) <= len(data) + len(data) // 254 + 1
    if len(data) <= spec.MAX_RAW_FRAME:
        assert cobs_decode(enc) == data


@given(st.sampled_from(list(MsgType)), st.integers(0, 0xFFFF), st.binary(max_size=512))
def test_any_frame_round_trips(t, seq, payload):
    (frame,) = FrameReader().feed(encode_frame(t, seq, payload))
    assert frame == Frame(spec.PROTOCOL_VERSION, t, seq, payload)


@settings(max_examples=60)
@given(st.lists(st.binary(max_size=80), max_size=8), st.binary(max_size=64))
def test_garbage_then_delimiter_never_hides_the_next_frame(junk, payload):
    stream = b"".join(junk) + b"\x00" + encode_frame(MsgType.PING, 77, payload)
    out = FrameReader().feed(stream)
    assert out and out[-1] == Frame(spec.PROTOCOL_VERSION, MsgType.PING, 77, payload)
    assert all(isinstance(x, Frame | FrameFault) for x in out)


@given(st.binary(min_size=1, max_size=300), st.data())
def test_single_bit_flip_is_always_detected(payload, data):
    wire = bytearray(encode_frame(MsgType.PING, 5, payload))
    i = data.draw(st.integers(0, len(wire) - 2))
    bit = data.draw(st.integers(0, 7))
    wire[i] ^= 1 << bit
    out = FrameReader().feed(bytes(wire) + b"\x00")
    assert not any(isinstance(x, Frame) and x.payload == payload and x.seq == 5 for x in out)


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.integers(0, 255),
       st.lists(st.tuples(st.integers(0, 242), st.integers(0, 2**32 - 1)), max_size=100))
def test_events_round_trip(hop, t_us, flags, items):  # fmt: skip
    msg = m.Events(hop, t_us, flags, tuple(m.EventItem(a, b) for a, b in items))
    assert m.decode_payload(MsgType.EVENTS, m.encode_payload(msg)) == msg


@given(st.sampled_from(list(MsgType)), st.binary(max_size=512))
def test_decode_payload_never_fails_outside_the_error_tree(t, payload):
    try:
        m.decode_payload(t, payload)
    except m.MessageError as exc:
        assert exc.code is ErrorCode.BAD_LENGTH


@given(st.binary(max_size=3000))
def test_reader_is_bounded_on_any_input(data):
    reader = FrameReader()
    reader.feed(data)
    assert len(reader._buf) <= spec.MAX_RAW_FRAME
