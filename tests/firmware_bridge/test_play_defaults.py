"""What ``play`` plays when the user names nothing (issue #20 part 2: ship the setting a
performer would choose, the 1-s hop kept as an offline mode)."""

from __future__ import annotations

import argparse

import pytest

from edge.model.config import load_config
from edge.model.shipped import SHIPPED_DIR, STUDENTS
from firmware_bridge.boards.registry import BOARDS
from firmware_bridge.player.session import LIVE_HOP_MAX_S, resolve_playout


@pytest.mark.parametrize(("playout", "hop_s", "want"), [
    ("auto", 4 / 22, "live"), ("auto", LIVE_HOP_MAX_S, "live"), ("auto", 1.0, "steady"),
    ("auto", 0.0, "steady"),  # no HELLO fps: nothing to go by, keep the rhythm
    ("steady", 4 / 22, "steady"), ("live", 1.0, "live"),
])  # fmt: skip
def test_auto_playout_is_live_for_short_hops_only(playout: str, hop_s: float, want: str) -> None:
    assert resolve_playout(playout, hop_s) == want


def test_every_live_student_is_shipped_and_short_enough_to_play_live() -> None:
    live = {b.name: b.live_student for b in BOARDS.values()}
    assert live["qemu-m7"] and live["stm32f746-disco"]  # the default board's class has one
    for board, student in live.items():
        if student is None:
            continue
        assert student in STUDENTS, board
        cfg = load_config(SHIPPED_DIR / student / "config.json")
        assert cfg.hop_frames / cfg.fps <= LIVE_HOP_MAX_S, (board, student)
        assert BOARDS[board].student != student  # the offline student stays the 1-s one


def test_play_defaults_to_auto_playout_and_offline_is_opt_in() -> None:
    from foley_edge.commands.board import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["play", "--keypoints", "x.npz", "--midi-out", "x.mid"])
    assert args.playout == "auto" and not args.offline
    args = parser.parse_args(["play", "--keypoints", "x.npz", "--midi-out", "x.mid", "--offline"])
    assert args.offline
