"""The firmware loop with a probe model: window, hops, EVENTS, DIN MIDI bytes, meters, guards.

The probe model (C below, linked through ``--model DIR`` like a generated model) reads the
keypoint window the loop hands it and emits four tokens per hop computed from it, so the test
can predict every token from the frames it sent: VELOCITY from the newest frame, NOTE_ON from
the newest frame, TIME_SHIFT from the oldest window slot (the first frame, repeated, before the
window fills), NOTE_OFF of the same pitch.
"""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pytest

from edge import protocol_spec as spec
from edge import vocab
from firmware_bridge.boards import get_board
from firmware_bridge.boards.console import BoardConsole
from firmware_bridge.boards.qemu import QemuBoard
from firmware_bridge.build import build_firmware
from firmware_bridge.protocol import messages as m

pytestmark = pytest.mark.firmware
HOP, CONTEXT, ZERO_POINT = 2, 3, -5
FRAME = spec.N_JOINTS * spec.N_CHANNELS

PROBE_MODEL_C = """
#include "fe_model.h"
#include "fe_vocab.h"
#define CONTEXT 3
static int8_t window_copy[CONTEXT * FE_FRAME_BYTES] FE_ARENA;
static FE_PERSISTENT uint8_t plan[4];
static uint8_t next;
static const fe_model_info_t info = {0x12345678u, 0.5f, -5, 30.0f, 2u, CONTEXT, 1u};
const fe_model_info_t *fe_model_info(void) { return &info; }
int fe_model_init(void) { next = 4u; return 0; }
int fe_model_encode(const fe_window_t *w) {
    fe_window_copy(w, window_copy);
    const int8_t *newest = &window_copy[(CONTEXT - 1) * FE_FRAME_BYTES];
    uint8_t pitch = (uint8_t)((uint8_t)newest[0] % 88u);
    plan[0] = (uint8_t)(FE_VELOCITY_OFFSET + ((uint8_t)newest[1] & 31u));
    plan[1] = (uint8_t)(FE_NOTE_ON_OFFSET + pitch);
    plan[2] = (uint8_t)(FE_TIME_SHIFT_OFFSET + ((uint8_t)window_copy[0] & 31u));
    plan[3] = (uint8_t)(FE_NOTE_OFF_OFFSET + pitch);
    next = 0u;
    return 0;
}
int fe_model_decode_step(uint8_t *token) {
    if (next >= 4u) return FE_MODEL_HOP_DONE;
    *token = plan[next++];
    return FE_MODEL_TOKEN;
}
"""

GUARD_MODEL_C = """
#include "fe_model.h"
extern uint32_t __arena_end[];
static int8_t scratch[64] FE_ARENA;
static const fe_model_info_t info = {1u, 1.0f, 0, 22.0f, 1u, 1u, 0u};
const fe_model_info_t *fe_model_info(void) { return &info; }
int fe_model_init(void) { return 0; }
int fe_model_encode(const fe_window_t *w) {
    fe_window_copy(w, scratch);   /* 195 bytes into a 64-byte arena buffer... */
    __arena_end[0] = 0u;          /* ...and one word past the arena: the tail guard */
    return 0;
}
int fe_model_decode_step(uint8_t *t) { (void)t; return FE_MODEL_HOP_DONE; }
"""


def expected_hop_tokens(window: list[np.ndarray]) -> list[int]:
    """The probe model's four tokens for a window [oldest..newest] of int8 frames."""
    newest, oldest = window[-1], window[0]
    pitch = int(np.uint8(newest[0])) % 88
    return [
        vocab.VELOCITY_OFFSET + (int(np.uint8(newest[1])) & 31),
        vocab.NOTE_ON_OFFSET + pitch,
        vocab.TIME_SHIFT_OFFSET + (int(np.uint8(oldest[0])) & 31),
        vocab.NOTE_OFF_OFFSET + pitch,
    ]


def _model(root: Path, name: str, source: str) -> Path:
    d = root / name
    d.mkdir()
    (d / "model.c").write_text(source)
    return d


@pytest.mark.parametrize("board", ["qemu-m7", "qemu-m55"])
def test_probe_model_tokens_din_and_meters(board: str, tmp_path: Path) -> None:
    model = _model(tmp_path, "probe", PROBE_MODEL_C)
    built = build_firmware(board, model_dir=model, out_dir=tmp_path / "out")
    assert built.size.arena_bytes >= CONTEXT * FRAME
    rng = np.random.default_rng(7)
    frames = [rng.integers(-128, 128, FRAME).astype(np.int8) for _ in range(10)]
    with QemuBoard(get_board(board), built.elf, workdir=tmp_path / "q") as q:
        with BoardConsole(q.url) as c:
            hello = c.expect(m.Hello)
            assert (hello.model_hash, hello.hop, hello.context_frames) == (0x12345678, 2, 3)
            assert hello.input_frame == 1  # the model's FE_INPUT_FRAME_BODY reaches the host
            assert hello.input_zero_point == ZERO_POINT
            events = []
            for i, f in enumerate(frames):
                seq = c.send(m.Keypoints(1000 + i, f.tobytes()))
                credit = c.expect(m.Credit)
                assert (credit.ack_seq, credit.frame_index) == (seq, 1000 + i)
                if (i + 1) % HOP == 0:
                    events.append(c.expect(m.Events))
            c.send(m.StatsRequest())
            stats = c.expect(m.Stats)
        din = q.din_file.read_bytes()
    padded = [frames[0]] * (CONTEXT - 1) + frames  # before it fills, the window repeats frame 0
    want = [expected_hop_tokens(padded[i : i + CONTEXT]) for i in range(1, 10, HOP)]
    assert [list(e.tokens) for e in events] == want
    assert [e.hop_index for e in events] == list(range(5))
    assert all(e.flags == spec.EVENTS_FLAG_LAST for e in events)
    shift_us = [round(vocab.TIME_SHIFT_TABLE_S[t[2] - vocab.TIME_SHIFT_OFFSET] * 1e6) for t in want]
    assert [e.events[3].offset_us for e in events] == shift_us  # NOTE_OFF after the shift
    assert stats.enc_runs == 5 and stats.dec_tokens == 20 and stats.tokens_tx == 20
    assert stats.dec_instr_last > 0 and stats.enc_instr_last > 0
    assert stats.arena_hwm >= CONTEXT * FRAME and stats.guard_broken == 0
    parser = mido.Parser()
    parser.feed(din)
    got = [(msg.type, msg.note, msg.velocity) for msg in parser]
    expect_din = []
    for t in want:
        vel = vocab.bin_to_velocity(t[0] - vocab.VELOCITY_OFFSET)
        pitch = t[1] - vocab.NOTE_ON_OFFSET + vocab.PITCH_MIN
        expect_din += [("note_on", pitch, vel), ("note_off", pitch, 0)]
    assert got == expect_din


def test_reset_sends_midi_panic_on_din(tmp_path: Path) -> None:
    model = _model(tmp_path, "probe", PROBE_MODEL_C.replace("plan[3] = ", "plan[3] = 0*"))
    built = build_firmware("qemu-m7", model_dir=model, out_dir=tmp_path / "out")
    with QemuBoard(get_board("qemu-m7"), built.elf, workdir=tmp_path / "q") as q:
        with BoardConsole(q.url) as c:
            c.expect(m.Hello)
            for i in range(HOP):
                c.send(m.Keypoints(i, bytes([60, 10] + [0] * (FRAME - 2))))
            tokens = c.expect(m.Events).tokens  # NOTE_OFF replaced by NOTE_ON 21: two held
            c.send(m.Reset())
            c.expect(m.Hello)
        din = q.din_file.read_bytes()
    held = {t - vocab.NOTE_ON_OFFSET + vocab.PITCH_MIN for t in tokens if t < vocab.NOTE_OFF_OFFSET}
    assert len(held) == 2
    msgs = _parse(din)
    offs = {msg.note for msg in msgs if msg.type == "note_off"}
    assert offs == held
    assert msgs[-1].type == "control_change" and msgs[-1].control == 123


def _parse(data: bytes) -> list[mido.Message]:
    parser = mido.Parser()
    parser.feed(data)
    return list(parser)


def test_guard_word_overwrite_is_reported(tmp_path: Path) -> None:
    model = _model(tmp_path, "guard", GUARD_MODEL_C)
    built = build_firmware("qemu-m4", model_dir=model, out_dir=tmp_path / "out")
    with QemuBoard(get_board("qemu-m4"), built.elf) as q, BoardConsole(q.url) as c:
        c.expect(m.Hello)
        c.send(m.StatsRequest())
        assert c.expect(m.Stats).guard_broken == 0
        c.send(m.Keypoints(0, bytes(FRAME)))
        err = c.expect(m.Error)
        assert err.code == spec.ErrorCode.GUARD
        c.send(m.StatsRequest())
        assert c.expect(m.Stats).guard_broken & spec.Guard.ARENA_TAIL
