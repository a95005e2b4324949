"""Protocol messages as frozen dataclasses, and their payload encode/decode.

Fixed fields follow :data:`spec.LAYOUTS` by name (a dataclass field per layout field); the
variable tails (HELLO's strings, EVENTS' items, ERROR's detail, PING/PONG bytes, KEYPOINTS'
values) are handled here. ``encode_message(msg, seq)`` gives wire bytes;
``decode_message(frame)`` checks the payload size for the type and raises
:class:`~firmware_bridge.errors.ProtocolError` with ``code = BAD_LENGTH`` otherwise.
"""

from __future__ import annotations

import struct
from dataclasses import astuple, dataclass, fields
from typing import ClassVar

import numpy as np

from edge import protocol_spec as spec
from edge.protocol_spec import ErrorCode, MsgType
from firmware_bridge.errors import ProtocolError
from firmware_bridge.protocol.framing import Frame, encode_frame


class MessageError(ProtocolError):
    """A payload that does not fit its type's layout; ``code`` is the protocol error code."""

    def __init__(self, message: str, code: ErrorCode = ErrorCode.BAD_LENGTH) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class HelloRequest:
    """host -> device: please announce yourself (HELLO)."""

    TYPE: ClassVar[MsgType] = MsgType.HELLO_REQ


@dataclass(frozen=True)
class StatsRequest:
    """host -> device: please send STATS."""

    TYPE: ClassVar[MsgType] = MsgType.STATS_REQ


@dataclass(frozen=True)
class Reset:
    """host -> device: drop all streaming state; the device answers with a fresh HELLO."""

    TYPE: ClassVar[MsgType] = MsgType.RESET


@dataclass(frozen=True)
class Ping:
    """host -> device: echo these bytes back in a PONG."""

    data: bytes = b""  # at most MAX_PAYLOAD bytes
    TYPE: ClassVar[MsgType] = MsgType.PING


@dataclass(frozen=True)
class Pong:
    """device -> host: the bytes of the PING being answered."""

    data: bytes = b""  # the PING's bytes
    TYPE: ClassVar[MsgType] = MsgType.PONG


@dataclass(frozen=True)
class Keypoints:
    """host -> device: one int8-quantised keypoint frame."""

    frame_index: int  # u32, the frame's index in the clip
    values: bytes  # N_JOINTS * N_CHANNELS int8, joint-major (x, y, confidence)
    TYPE: ClassVar[MsgType] = MsgType.KEYPOINTS

    @classmethod
    def from_array(cls, frame_index: int, q: np.ndarray) -> Keypoints:
        """Build from an int8 array of shape [N_JOINTS, N_CHANNELS]."""
        want = (spec.N_JOINTS, spec.N_CHANNELS)
        if q.shape != want or q.dtype != np.int8:
            raise MessageError(f"keypoints: expected int8 {want}, found {q.dtype} {q.shape}")
        return cls(frame_index, q.tobytes())

    def array(self) -> np.ndarray:
        """The values as int8 [N_JOINTS, N_CHANNELS]."""
        return np.frombuffer(self.values, np.int8).reshape(spec.N_JOINTS, spec.N_CHANNELS)


@dataclass(frozen=True)
class Hello:
    """device -> host: who the device is and how to talk to it."""

    protocol_version: int  # u8, the version the firmware speaks
    max_payload: int  # u16, largest payload the device accepts
    rx_window: int  # u16, KEYPOINTS frames the device buffers (the host's credits)
    model_hash: int  # u32, hash of the compiled-in model
    vocab_hash: int  # u32, edge.vocab.vocab_hash() of the firmware's vocabulary
    flash_budget: int  # u32, bytes of flash of the board profile
    sram_budget: int  # u32, bytes of SRAM of the board profile
    n_joints: int  # u8, joints per keypoint frame
    n_channels: int  # u8, channels per joint
    input_scale: float  # f32, int8 input scale: real = scale * (q - zero_point)
    input_zero_point: int  # i8, int8 input zero point
    fps: float  # f32, keypoint frames per second the model expects
    hop: int  # u16, frames per encoder run
    context_frames: int  # u16, frames of context the encoder sees
    input_frame: int  # u8, edge.protocol_spec.InputFrame: image coordinates or the body frame
    fw_version: str  # firmware version, at most HELLO_STR_MAX bytes of UTF-8
    board: str  # board name, at most HELLO_STR_MAX bytes of UTF-8
    TYPE: ClassVar[MsgType] = MsgType.HELLO


@dataclass(frozen=True)
class Credit:
    """device -> host: KEYPOINTS frames processed; frees host credits up to ``ack_seq``."""

    ack_seq: int  # u16, seq of the last KEYPOINTS processed (cumulative)
    credits: int  # u16, frames returned by this message
    frame_index: int  # u32, frame index of that KEYPOINTS frame
    TYPE: ClassVar[MsgType] = MsgType.CREDIT


@dataclass(frozen=True)
class EventItem:
    """One decoded token and its time after the hop's start."""

    token: int  # u8 vocabulary token (edge.vocab)
    offset_us: int  # u32 microseconds after the hop's start time


@dataclass(frozen=True)
class Events:
    """device -> host: the tokens the decoder produced in one hop (or part of it)."""

    hop_index: int  # u32, encoder run number
    time_us: int  # u32, device clock at the hop's start
    flags: int  # u8, EVENTS_FLAG_LAST when this message ends the hop
    events: tuple[EventItem, ...]  # at most EVENTS_MAX_ITEMS
    TYPE: ClassVar[MsgType] = MsgType.EVENTS

    @property
    def tokens(self) -> tuple[int, ...]:
        """The token ids in order."""
        return tuple(e.token for e in self.events)


@dataclass(frozen=True)
class Stats:
    """device -> host: counters, instruction counts, memory high-water marks, guards."""

    frames_rx: int  # good frames received
    frames_bad: int  # bad frames received
    keypoints_rx: int  # KEYPOINTS frames accepted
    tokens_tx: int  # tokens sent in EVENTS
    enc_runs: int  # encoder runs
    enc_instr_total: int  # u64, instructions over all encoder runs
    enc_instr_last: int  # instructions of the last encoder run
    dec_tokens: int  # decoder steps
    dec_instr_total: int  # u64, instructions over all decoder steps
    dec_instr_last: int  # instructions of the last decoder step
    stack_hwm: int  # stack bytes used (high-water)
    stack_size: int  # stack bytes reserved
    arena_hwm: int  # arena bytes used (high-water)
    arena_size: int  # arena bytes reserved
    guard_broken: int  # spec.Guard bits of broken guard words; 0 = intact
    counter_kind: int  # spec.Counter: what the instruction fields count
    ack_seq: int  # seq of the last KEYPOINTS processed (SEQ_NONE: none yet)
    rx_pending: int  # KEYPOINTS frames buffered, not yet processed
    time_us: int  # device clock, microseconds
    TYPE: ClassVar[MsgType] = MsgType.STATS


@dataclass(frozen=True)
class Error:
    """device -> host: a frame was refused, or something failed on the device."""

    code: int  # spec.ErrorCode value (unknown codes are kept as ints)
    ref_seq: int  # seq of the offending frame, SEQ_NONE when unknown
    detail: str  # short text, at most ERROR_DETAIL_MAX bytes of UTF-8
    TYPE: ClassVar[MsgType] = MsgType.ERROR

    @property
    def name(self) -> str:
        """The code's short name, as C ``fe_error_name`` spells it."""
        if self.code in ErrorCode._value2member_map_:
            return spec.ERROR_NAMES[ErrorCode(self.code)]
        return "unknown error"


Message = (
    HelloRequest | StatsRequest | Reset | Ping | Pong | Keypoints | Hello | Credit | Events
    | Stats | Error
)  # fmt: skip
MESSAGE_CLASSES: dict[MsgType, type] = {
    c.TYPE: c
    for c in (HelloRequest, StatsRequest, Reset, Ping, Pong, Keypoints, Hello, Credit, Events,
              Stats, Error)
}  # fmt: skip


def _put_str(s: str, what: str, limit: int) -> bytes:
    b = s.encode()
    if len(b) > limit:
        raise MessageError(f"{what}: at most {limit} bytes of UTF-8, found {len(b)}")
    return b


def _fixed(msg: object) -> bytes:
    layout = spec.LAYOUTS[msg.TYPE]  # type: ignore[attr-defined]
    values = [getattr(msg, n) for n in layout.names if n != "count"]
    if msg.TYPE is MsgType.EVENTS:  # type: ignore[attr-defined]
        values.append(len(msg.events))  # type: ignore[attr-defined]
    try:
        return struct.pack(layout.fmt, *values)
    except struct.error as exc:
        raise MessageError(f"{msg.TYPE.name}: field out of range: {exc}") from exc  # type: ignore[attr-defined]


def encode_payload(msg: Message) -> bytes:
    """The payload bytes of ``msg``."""
    if isinstance(msg, Ping | Pong):
        return msg.data
    if isinstance(msg, HelloRequest | StatsRequest | Reset):
        return b""
    if isinstance(msg, Keypoints):
        if len(msg.values) != spec.N_JOINTS * spec.N_CHANNELS:
            raise MessageError(f"keypoints: expected 195 values, found {len(msg.values)}")
        return _fixed(msg) + msg.values
    if isinstance(msg, Hello):
        strs = [_put_str(s, n, spec.HELLO_STR_MAX) for s, n in
                ((msg.fw_version, "fw_version"), (msg.board, "board"))]  # fmt: skip
        return _fixed(msg) + b"".join(bytes([len(s)]) + s for s in strs)
    if isinstance(msg, Events):
        if len(msg.events) > spec.EVENTS_MAX_ITEMS:
            raise MessageError(
                f"events: at most {spec.EVENTS_MAX_ITEMS} per message, found {len(msg.events)}"
            )
        items = b"".join(struct.pack(spec.EVENT_ITEM_FORMAT, *astuple(e)) for e in msg.events)
        return _fixed(msg) + items
    if isinstance(msg, Error):
        return _fixed(msg) + _put_str(msg.detail, "error detail", spec.ERROR_DETAIL_MAX)
    return _fixed(msg)  # Credit, Stats


def encode_message(msg: Message, seq: int) -> bytes:
    """The wire bytes of ``msg`` sent as frame number ``seq``."""
    return encode_frame(msg.TYPE, seq, encode_payload(msg))


def _size_error(t: MsgType, expected: str, found: int) -> MessageError:
    return MessageError(f"{t.name} payload: expected {expected} bytes, found {found}")


def _unpack_fixed(t: MsgType, payload: bytes) -> dict[str, int | float]:
    layout = spec.LAYOUTS[t]
    if len(payload) < layout.size:
        raise _size_error(t, f">= {layout.size}", len(payload))
    return dict(zip(layout.names, struct.unpack_from(layout.fmt, payload), strict=True))


def _take_str(payload: bytes, pos: int, what: str) -> tuple[str, int]:
    if pos >= len(payload) or pos + 1 + payload[pos] > len(payload):
        raise MessageError(f"HELLO {what}: string runs past the payload end ({len(payload)} B)")
    n = payload[pos]
    if n > spec.HELLO_STR_MAX:
        raise MessageError(f"HELLO {what}: at most {spec.HELLO_STR_MAX} bytes, found {n}")
    try:
        return payload[pos + 1 : pos + 1 + n].decode(), pos + 1 + n
    except UnicodeDecodeError as exc:
        raise MessageError(f"HELLO {what}: not UTF-8 ({exc})") from exc


def _decode_hello(p: bytes) -> Hello:
    f = _unpack_fixed(MsgType.HELLO, p)
    fw, pos = _take_str(p, spec.LAYOUTS[MsgType.HELLO].size, "fw_version")
    board, pos = _take_str(p, pos, "board")
    if pos != len(p):
        raise _size_error(MsgType.HELLO, str(pos), len(p))
    return Hello(**f, fw_version=fw, board=board)  # type: ignore[arg-type]


def _decode_events(p: bytes) -> Events:
    f = _unpack_fixed(MsgType.EVENTS, p)
    count, start = int(f.pop("count")), spec.LAYOUTS[MsgType.EVENTS].size
    want = start + count * spec.EVENT_ITEM_SIZE
    if len(p) != want or count > spec.EVENTS_MAX_ITEMS:
        raise _size_error(MsgType.EVENTS, f"{want} (count {count})", len(p))
    items = tuple(EventItem(*x) for x in struct.iter_unpack(spec.EVENT_ITEM_FORMAT, p[start:]))
    return Events(**f, events=items)  # type: ignore[arg-type]


def _decode_error(p: bytes) -> Error:
    f = _unpack_fixed(MsgType.ERROR, p)
    detail = p[spec.LAYOUTS[MsgType.ERROR].size :]
    if len(detail) > spec.ERROR_DETAIL_MAX:
        raise _size_error(MsgType.ERROR, f"<= {spec.LAYOUTS[MsgType.ERROR].size + 64}", len(p))
    return Error(**f, detail=detail.decode(errors="replace"))  # type: ignore[arg-type]


def _decode_exact(t: MsgType, p: bytes) -> Message:
    layout = spec.LAYOUTS[t]
    if len(p) != layout.size:
        raise _size_error(t, str(layout.size), len(p))
    return MESSAGE_CLASSES[t](**_unpack_fixed(t, p))


def decode_payload(t: MsgType, p: bytes) -> Message:
    """Decode payload ``p`` of type ``t``; :class:`MessageError` (BAD_LENGTH) if malformed."""
    if t in spec.EMPTY_TYPES:
        if p:
            raise _size_error(t, "0", len(p))
        return MESSAGE_CLASSES[t]()
    if t in (MsgType.PING, MsgType.PONG):
        return MESSAGE_CLASSES[t](bytes(p))
    if t is MsgType.KEYPOINTS:
        if len(p) != spec.KEYPOINTS_SIZE:
            raise _size_error(t, str(spec.KEYPOINTS_SIZE), len(p))
        (idx,) = struct.unpack_from("<I", p)
        return Keypoints(idx, bytes(p[4:]))
    decoders = {MsgType.HELLO: _decode_hello, MsgType.EVENTS: _decode_events,
                MsgType.ERROR: _decode_error}  # fmt: skip
    if t in decoders:
        return decoders[t](p)
    return _decode_exact(t, p)


def decode_message(frame: Frame) -> Message:
    """The message carried by a good :class:`Frame`."""
    return decode_payload(frame.type, frame.payload)


def message_fields(msg: Message) -> dict[str, object]:
    """Field name -> value (bytes as hex, items as lists): the JSON form used by the vectors."""
    out: dict[str, object] = {}
    for f in fields(msg):  # type: ignore[arg-type]
        v = getattr(msg, f.name)
        if isinstance(v, bytes):
            v = v.hex()
        elif isinstance(v, tuple):
            v = [[e.token, e.offset_us] for e in v]
        out[f.name] = v
    return out
