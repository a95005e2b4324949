"""Fast checks of the demo's parts: the RTF formula, the tee sink, the build cache key."""

from __future__ import annotations

from pathlib import Path

import mido
import pytest

from firmware_bridge.boards.build_cache import build_key
from firmware_bridge.boards.registry import get_board
from firmware_bridge.player.report import real_time_factor
from firmware_bridge.player.tee import TeeSink
from firmware_bridge.sinks import MemorySink


def test_real_time_factor_by_hand() -> None:
    # one 43.2 M-instruction hop per second + 85 tokens of 1.08 M = 135 M of 216 M per second
    assert real_time_factor(43.2e6, 1.08e6, 1.0) == pytest.approx(135.0 / 216.0)
    assert real_time_factor(0.0, 0.0, 1.0) == 0.0
    assert real_time_factor(1e6, 0.0, 2.0, clock_hz=4e6) == pytest.approx(0.5)


def test_tee_sink_feeds_every_sink_and_leaves_none_holding_a_note() -> None:
    a, b = MemorySink(), MemorySink()
    with TeeSink([a, b]) as tee:
        tee.send(mido.Message("note_on", note=60, velocity=90))
        tee.send(mido.Message("note_on", note=64, velocity=90))
        tee.send(mido.Message("note_off", note=60))
        assert a.held_notes == b.held_notes == frozenset({(0, 64)})
    for sink in (a, b):
        assert sink.closed and not sink.held_notes
        kinds = [(m.type, getattr(m, "note", None)) for m in sink.messages]
        assert kinds[:3] == [("note_on", 60), ("note_on", 64), ("note_off", 60)]
        assert ("note_off", 64) in kinds[3:]  # the panic reached both
        assert sink.messages[-1].type == "control_change" and sink.messages[-1].control == 123


def test_build_key_follows_the_model_files(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "hook.c").write_text("int x;\n")
    board = get_board("qemu-m7")
    key = build_key(board, model)
    assert key == build_key(board, model)  # deterministic
    assert key != build_key(get_board("qemu-m4"), model)
    assert key != build_key(board, model, ("FE_KERNELS_PORTABLE",))
    (model / "hook.c").write_text("int y;\n")
    assert key != build_key(board, model)
