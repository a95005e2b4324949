"""Frames on the wire: CRC-16, COBS, frame encode/parse and a streaming frame reader.

The mirror of ``edge/firmware/protocol/fe_proto.c``: same checks in the same order, so both
sides classify every bad frame with the same :class:`~.spec.ErrorCode` (the shared vectors test
that). :class:`FrameReader` is the same byte-wise state machine as the C ``fe_rx_t``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from edge import protocol_spec as spec
from edge.protocol_spec import ErrorCode, MsgType
from firmware_bridge.errors import ProtocolError


def _crc_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ spec.CRC16_POLY) if crc & 0x8000 else crc << 1
        table.append(crc & 0xFFFF)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16(data: bytes, crc: int = spec.CRC16_INIT) -> int:
    """CRC-16/CCITT-FALSE of ``data`` (poly 0x1021, init 0xFFFF); ``b"123456789"`` -> 0x29B1."""
    for b in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC_TABLE[(crc >> 8) ^ b]
    return crc


def cobs_encode(data: bytes) -> bytes:
    """COBS-encode ``data`` (no delimiter): blocks of <= 254 data bytes after a code byte.

    Like ``fe_cobs_encode``, a full 254-byte block is always followed by a new code byte, so the
    output is ``len + len // 254 + 1`` bytes at most.
    """
    out = bytearray(b"\x00")
    code_pos, code = 0, 1
    for b in data:
        if b:
            out.append(b)
            code += 1
        if b == 0 or code == 0xFF:
            out[code_pos] = code
            code_pos, code = len(out), 1
            out.append(0)
    out[code_pos] = code
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    """Decode one COBS block sequence (no delimiter); :class:`ProtocolError` if malformed."""
    reader = FrameReader()
    raw, err = reader.decode_body(data)
    if err is not None:
        raise ProtocolError(f"COBS decode: {spec.ERROR_NAMES[err]} ({len(data)} encoded bytes)")
    return raw


@dataclass(frozen=True)
class Frame:
    """One frame that passed every framing check."""

    version: int  # header version (== PROTOCOL_VERSION)
    type: MsgType  # message type
    seq: int  # sender's frame number, u16
    payload: bytes  # the payload bytes (length checked against the header)


@dataclass(frozen=True)
class FrameFault:
    """One bad frame: why, and what could be read of its header."""

    code: ErrorCode  # TOO_LONG, BAD_COBS, TOO_SHORT, BAD_CRC, BAD_VERSION, BAD_LENGTH, ...
    detail: str  # readable explanation with expected vs found
    version: int | None = None  # header version when the CRC was good
    seq: int | None = None  # header seq when the CRC was good


def encode_frame(
    type_: int, seq: int, payload: bytes = b"", *, version: int = spec.PROTOCOL_VERSION
) -> bytes:
    """The wire bytes of one frame: ``COBS(header | payload | crc) + b"\\x00"``."""
    if len(payload) > spec.MAX_PAYLOAD:
        raise ProtocolError(
            f"payload of type 0x{type_:02X}: at most {spec.MAX_PAYLOAD} bytes, found {len(payload)}"
        )
    body = struct.pack(spec.HEADER_FORMAT, version, type_, seq & 0xFFFF, len(payload)) + payload
    return cobs_encode(body + struct.pack("<H", crc16(body))) + b"\x00"


def parse_frame(raw: bytes) -> Frame | FrameFault:
    """Check a COBS-decoded frame (header | payload | crc) like ``fe_frame_parse``."""
    need = spec.HEADER_SIZE + spec.CRC_SIZE
    if len(raw) < need:
        return FrameFault(ErrorCode.TOO_SHORT, f"expected >= {need} bytes, found {len(raw)}")
    body, (found_crc,) = raw[: -spec.CRC_SIZE], struct.unpack("<H", raw[-spec.CRC_SIZE :])
    want_crc = crc16(body)
    if want_crc != found_crc:
        return FrameFault(
            ErrorCode.BAD_CRC, f"expected CRC 0x{want_crc:04X}, found 0x{found_crc:04X}"
        )
    version, type_, seq, length = struct.unpack_from(spec.HEADER_FORMAT, body)
    if version != spec.PROTOCOL_VERSION:
        return FrameFault(
            ErrorCode.BAD_VERSION,
            f"expected protocol {spec.PROTOCOL_VERSION}, found {version}",
            version=version,
            seq=seq,
        )
    present = len(body) - spec.HEADER_SIZE
    if length != present:
        return FrameFault(
            ErrorCode.BAD_LENGTH,
            f"header says {length} payload bytes, found {present}",
            version=version,
            seq=seq,
        )
    if type_ not in MsgType._value2member_map_:
        return FrameFault(
            ErrorCode.UNKNOWN_TYPE, f"unknown type 0x{type_:02X}", version=version, seq=seq
        )
    return Frame(version, MsgType(type_), seq, bytes(body[spec.HEADER_SIZE :]))


class FrameReader:
    """Byte-wise frame receiver, the mirror of C ``fe_rx_t``: bounded, resyncs at every 0x00.

    ``feed(chunk)`` returns the frames and faults completed by ``chunk``, in order. Memory is
    bounded by :data:`spec.MAX_RAW_FRAME` whatever arrives.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._block_left = 0
        self._block_code = 0
        self._overflow = False
        self.frames_ok = 0  # good frames so far
        self.frames_bad = 0  # bad frames so far

    def _restart(self) -> None:
        self._buf.clear()
        self._block_left = self._block_code = 0
        self._overflow = False

    def _append(self, b: int) -> None:
        if len(self._buf) >= spec.MAX_RAW_FRAME:
            self._overflow = True
        else:
            self._buf.append(b)

    def _push_nonzero(self, b: int) -> None:
        if self._overflow:
            return
        if self._block_left == 0:
            if self._block_code not in (0, 0xFF):
                self._append(0)
            self._block_code, self._block_left = b, b - 1
        else:
            self._append(b)
            self._block_left -= 1

    def _end(self) -> Frame | FrameFault:
        if self._overflow:
            out: Frame | FrameFault = FrameFault(
                ErrorCode.TOO_LONG, f"frame longer than {spec.MAX_RAW_FRAME} decoded bytes"
            )
        elif self._block_left:
            out = FrameFault(
                ErrorCode.BAD_COBS, f"frame ended {self._block_left} bytes into a COBS block"
            )
        else:
            out = parse_frame(bytes(self._buf))
        self._restart()
        if isinstance(out, Frame):
            self.frames_ok += 1
        else:
            self.frames_bad += 1
        return out

    def feed(self, chunk: bytes) -> list[Frame | FrameFault]:
        """Consume ``chunk``; return what it completed (empty frames are skipped)."""
        out: list[Frame | FrameFault] = []
        for b in chunk:
            if b:
                self._push_nonzero(b)
            elif self._block_code:
                out.append(self._end())
        return out

    def decode_body(self, body: bytes) -> tuple[bytes, ErrorCode | None]:
        """COBS-decode one delimiter-free body with the receiver's rules (resets the reader)."""
        self._restart()
        for b in body:
            self._push_nonzero(b)
        err = (
            ErrorCode.TOO_LONG
            if self._overflow
            else ErrorCode.BAD_COBS
            if self._block_left
            else None
        )
        raw = bytes(self._buf)
        self._restart()
        return raw, err


def iter_frames(data: bytes) -> Iterator[Frame | FrameFault]:
    """Every frame and fault in a complete byte string."""
    yield from FrameReader().feed(data)
