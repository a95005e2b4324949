"""The serial protocol's single source of truth: version, message types, error codes, layouts.

Python (:mod:`firmware_bridge.protocol.framing`, :mod:`~firmware_bridge.protocol.messages`)
and the firmware's C (``edge/firmware/protocol/fe_proto.c`` over the header :func:`c_header`
generates) are both written from these numbers; ``tests/fixtures/protocol_vectors.json``
pins them together byte for byte.

Wire format: one frame is ``COBS(header | payload | crc) + b"\\x00"`` where

* header = version u8, type u8, seq u16, length u16 (little-endian, :data:`HEADER_FORMAT`);
* payload = 0..:data:`MAX_PAYLOAD` bytes laid out per type (:data:`LAYOUTS`);
* crc = CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection; "123456789" -> 0x29B1)
  over header and payload, little-endian.

A receiver checks, in this order: frame longer than :data:`MAX_RAW_FRAME` (TOO_LONG), COBS
structure (BAD_COBS), shorter than header + CRC (TOO_SHORT), CRC (BAD_CRC), version
(BAD_VERSION), header length vs bytes present (BAD_LENGTH), type (UNKNOWN_TYPE); message
decoding then checks the payload size for the type (BAD_LENGTH).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from edge import skeleton

PROTOCOL_VERSION = 2
"""Bumped on any incompatible change; the host refuses firmware that speaks another."""

HEADER_FORMAT = "<BBHH"  # version, type, seq, length
HEADER_SIZE = struct.calcsize(HEADER_FORMAT)  # 6
CRC_SIZE = 2
CRC16_POLY = 0x1021
CRC16_INIT = 0xFFFF
CRC16_CHECK = 0x29B1
"""CRC-16/CCITT-FALSE of b"123456789" (the catalogue's check value)."""

MAX_PAYLOAD = 512
MAX_RAW_FRAME = HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE  # 520, before COBS
MAX_ENCODED_FRAME = MAX_RAW_FRAME + MAX_RAW_FRAME // 254 + 1 + 1  # COBS overhead + delimiter
SEQ_NONE = 0xFFFF
"""ref_seq of an ERROR whose frame's seq cannot be trusted; ack_seq before any KEYPOINTS."""

HELLO_STR_MAX = 32
ERROR_DETAIL_MAX = 64
N_JOINTS = skeleton.N_JOINTS  # 65
N_CHANNELS = skeleton.N_CHANNELS  # x, y, confidence
EVENTS_FLAG_LAST = 0x01
"""EVENTS flag: this message ends its hop (a long hop may span several messages)."""


class MsgType(IntEnum):
    """Message types; host -> device below 0x80, device -> host from 0x80."""

    HELLO_REQ = 0x01
    PING = 0x02
    KEYPOINTS = 0x03
    STATS_REQ = 0x04
    RESET = 0x05
    HELLO = 0x81
    PONG = 0x82
    CREDIT = 0x83
    EVENTS = 0x84
    STATS = 0x85
    ERROR = 0x86


class ErrorCode(IntEnum):
    """Codes carried by ERROR messages (and by :class:`ProtocolError` on the host)."""

    NONE = 0
    BAD_CRC = 1
    BAD_COBS = 2
    TOO_LONG = 3
    TOO_SHORT = 4
    BAD_VERSION = 5
    BAD_LENGTH = 6
    UNKNOWN_TYPE = 7
    OUT_OF_CREDITS = 8
    BAD_STATE = 9
    INTERNAL = 10
    GUARD = 11


ERROR_NAMES: dict[ErrorCode, str] = {
    ErrorCode.NONE: "no error",
    ErrorCode.BAD_CRC: "bad CRC",
    ErrorCode.BAD_COBS: "bad COBS",
    ErrorCode.TOO_LONG: "frame too long",
    ErrorCode.TOO_SHORT: "frame too short",
    ErrorCode.BAD_VERSION: "bad protocol version",
    ErrorCode.BAD_LENGTH: "bad length",
    ErrorCode.UNKNOWN_TYPE: "unknown message type",
    ErrorCode.OUT_OF_CREDITS: "out of credits",
    ErrorCode.BAD_STATE: "bad state",
    ErrorCode.INTERNAL: "internal error",
    ErrorCode.GUARD: "guard word broken",
}
"""Short names, identical in C (``fe_error_name``)."""


class Guard(IntEnum):
    """Bits of STATS.guard_broken: which guard word was found overwritten."""

    ARENA_HEAD = 0x01
    ARENA_TAIL = 0x02
    STACK = 0x04


class InputFrame(IntEnum):
    """HELLO.input_frame: the coordinates the model reads, so the host sends them that way."""

    IMAGE = 0  # x, y in image units, as the pose detector wrote them
    BODY = 1  # the host first puts each frame in the body frame (edge.data.bodyframe)


class Counter(IntEnum):
    """What STATS' instruction fields count."""

    NONE = 0  # no counter on this board
    INSTRUCTIONS = 1  # emulator -icount (timer ticks converted to instructions)
    CYCLES = 2  # DWT cycle counter on real hardware


@dataclass(frozen=True)
class Field:
    """One fixed-size field of a payload layout."""

    name: str  # Python attribute name; C offset macro FE_<MSG>_OFF_<NAME>
    fmt: str  # struct code: B b H I Q f (little-endian, no padding)


@dataclass(frozen=True)
class Layout:
    """The fixed part of one payload (variable tails are described per message)."""

    fields: tuple[Field, ...]  # in wire order

    @property
    def fmt(self) -> str:
        """struct format of the fixed part."""
        return "<" + "".join(f.fmt for f in self.fields)

    @property
    def size(self) -> int:
        """Bytes of the fixed part."""
        return struct.calcsize(self.fmt)

    @property
    def names(self) -> tuple[str, ...]:
        """Field names in wire order."""
        return tuple(f.name for f in self.fields)

    def offsets(self) -> dict[str, int]:
        """Byte offset of every field."""
        out, pos = {}, 0
        for f in self.fields:
            out[f.name] = pos
            pos += struct.calcsize("<" + f.fmt)
        return out


def _layout(*pairs: str) -> Layout:
    return Layout(tuple(Field(*p.split(":")) for p in pairs))


LAYOUTS: dict[MsgType, Layout] = {
    # + fw_version (u8 length + bytes) + board (u8 length + bytes)
    MsgType.HELLO: _layout(
        "protocol_version:B", "max_payload:H", "rx_window:H", "model_hash:I", "vocab_hash:I",
        "flash_budget:I", "sram_budget:I", "n_joints:B", "n_channels:B", "input_scale:f",
        "input_zero_point:b", "fps:f", "hop:H", "context_frames:H", "input_frame:B",
    ),  # fmt: skip
    # + N_JOINTS * N_CHANNELS int8, joint-major
    MsgType.KEYPOINTS: _layout("frame_index:I"),
    MsgType.CREDIT: _layout("ack_seq:H", "credits:H", "frame_index:I"),
    # + count * (token u8, offset_us u32)
    MsgType.EVENTS: _layout("hop_index:I", "time_us:I", "flags:B", "count:B"),
    MsgType.STATS: _layout(
        "frames_rx:I", "frames_bad:I", "keypoints_rx:I", "tokens_tx:I",
        "enc_runs:I", "enc_instr_total:Q", "enc_instr_last:I",
        "dec_tokens:I", "dec_instr_total:Q", "dec_instr_last:I",
        "stack_hwm:I", "stack_size:I", "arena_hwm:I", "arena_size:I",
        "guard_broken:B", "counter_kind:B", "ack_seq:H", "rx_pending:H", "time_us:I",
    ),  # fmt: skip
    # + detail text (UTF-8, at most ERROR_DETAIL_MAX bytes)
    MsgType.ERROR: _layout("code:H", "ref_seq:H"),
}

EVENT_ITEM_FORMAT = "<BI"  # token, offset_us
EVENT_ITEM_SIZE = struct.calcsize(EVENT_ITEM_FORMAT)  # 5
EVENTS_MAX_ITEMS = (MAX_PAYLOAD - LAYOUTS[MsgType.EVENTS].size) // EVENT_ITEM_SIZE
KEYPOINTS_SIZE = LAYOUTS[MsgType.KEYPOINTS].size + N_JOINTS * N_CHANNELS  # 199
EMPTY_TYPES: frozenset[MsgType] = frozenset(
    {MsgType.HELLO_REQ, MsgType.STATS_REQ, MsgType.RESET}
)
"""Types whose payload must be empty."""


def _define(name: str, value: int | str) -> str:
    return f"#define {name} {value}"


def _defines() -> list[str]:
    lines = [
        _define("FE_PROTOCOL_VERSION", PROTOCOL_VERSION),
        _define("FE_HEADER_SIZE", HEADER_SIZE),
        _define("FE_CRC_SIZE", CRC_SIZE),
        _define("FE_CRC16_POLY", f"0x{CRC16_POLY:04X}u"),
        _define("FE_CRC16_INIT", f"0x{CRC16_INIT:04X}u"),
        _define("FE_CRC16_CHECK", f"0x{CRC16_CHECK:04X}u"),
        _define("FE_MAX_PAYLOAD", MAX_PAYLOAD),
        _define("FE_MAX_RAW_FRAME", MAX_RAW_FRAME),
        _define("FE_MAX_ENCODED_FRAME", MAX_ENCODED_FRAME),
        _define("FE_SEQ_NONE", f"0x{SEQ_NONE:04X}u"),
        _define("FE_HELLO_STR_MAX", HELLO_STR_MAX),
        _define("FE_ERROR_DETAIL_MAX", ERROR_DETAIL_MAX),
        _define("FE_N_JOINTS", N_JOINTS),
        _define("FE_N_CHANNELS", N_CHANNELS),
        _define("FE_KEYPOINTS_SIZE", KEYPOINTS_SIZE),
        _define("FE_EVENT_ITEM_SIZE", EVENT_ITEM_SIZE),
        _define("FE_EVENTS_MAX_ITEMS", EVENTS_MAX_ITEMS),
        _define("FE_EVENTS_FLAG_LAST", f"0x{EVENTS_FLAG_LAST:02X}u"),
        "",
    ]
    lines += [_define(f"FE_MSG_{t.name}", f"0x{t.value:02X}u") for t in MsgType]
    known = " || ".join(f"(t) == FE_MSG_{t.name}" for t in MsgType)
    lines.append(_define("FE_MSG_IS_KNOWN(t)", f"({known})"))
    lines += [""] + [_define(f"FE_ERR_{e.name}", e.value) for e in ErrorCode]
    lines += [""] + [_define(f"FE_GUARD_{g.name}", f"0x{g.value:02X}u") for g in Guard]
    lines += [""] + [_define(f"FE_COUNTER_{c.name}", c.value) for c in Counter]
    lines += [""] + [_define(f"FE_INPUT_FRAME_{f.name}", f.value) for f in InputFrame]
    for t, layout in LAYOUTS.items():
        lines += ["", f"/* {t.name} payload (fixed part) */"]
        lines += [_define(f"FE_{t.name}_OFF_{n.upper()}", o) for n, o in layout.offsets().items()]
        lines.append(_define(f"FE_{t.name}_FIXED_SIZE", layout.size))
    return lines


def _error_name_list() -> str:
    items = ", ".join(f'"{ERROR_NAMES[e]}"' for e in ErrorCode)
    return f"#define FE_ERROR_NAME_LIST {{ {items} }}"


def c_header() -> str:
    """The C header ``fe_protocol.h`` generated from this module (never edit the output)."""
    body = "\n".join(_defines())
    return f"""\
/* fe_protocol.h: serial protocol constants. GENERATED by edge/protocol_spec.py;
 * do not edit. The mechanics (COBS, CRC, receiver, pack/unpack) are in fe_proto.h/.c. */
#ifndef FE_PROTOCOL_H
#define FE_PROTOCOL_H

{body}

/* fe_error_name() table, indexed by FE_ERR_* code. */
{_error_name_list()}
#define FE_N_ERROR_CODES {len(ErrorCode)}

#endif /* FE_PROTOCOL_H */
"""
