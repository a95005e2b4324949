"""Live playout end to end (issue #20 part 3): a paced ``play`` on qemu-m7 with the tiny hop-4
student of ``test_end_to_end_stream.py`` (its fixture: the export is made once per session),
steady and live, into a .mid each.

Both runs use a fixed playout latency, so the comparison does not hang on the emulator's answer
jitter: steady at one hop + 0.1 s, live at ``max(arrival, time + 0.1 s)`` — per note never later
than steady for the same arrivals, a hop earlier for a note whose hop answered in time. The
latency figures must be in the JSON (measured on the host clock and estimated for 216 MHz, with
the budget and the jitter), the live median of the 216 MHz estimate below the steady one, and
the two recordings the same bytes: live playout moves what a port hears, not the file's notes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from test_end_to_end_stream import short_hop  # noqa: E402, F401 - the shared module fixture

from firmware_bridge.boards.registry import get_board  # noqa: E402
from firmware_bridge.build import build_firmware  # noqa: E402
from firmware_bridge.player import PlaySettings, PlayTarget, play  # noqa: E402
from firmware_bridge.player.budget import PARTS  # noqa: E402
from firmware_bridge.player.cli import play_json  # noqa: E402
from firmware_bridge.playout import Clock  # noqa: E402
from firmware_bridge.sources import Frame  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.firmware]
HOP, FPS, N_FRAMES = 4, 22.0, 48  # twelve hops (the fixture's 24 frames twice)
L = 0.1


def _paced(kp: np.ndarray):  # noqa: ANN202
    def frames(clock: Clock, fps: float) -> Iterator[Frame]:
        origin = clock.now()
        for i in range(N_FRAMES):
            clock.sleep_until(origin + i / fps)
            yield Frame(i, i / fps, kp[i % len(kp)])
    return frames


def test_live_playout_beats_steady_on_qemu_and_keeps_the_recording(
        short_hop, tmp_path: Path) -> None:  # noqa: ANN001, F811
    export, kp = short_hop
    built = build_firmware("qemu-m7", model_dir=export, out_dir=tmp_path / "fw")
    docs = {}
    for mode, latency in (("steady", HOP / FPS + L), ("live", L)):
        target = PlayTarget(board=get_board("qemu-m7"), elf=built.elf, din="none",
                            workdir=tmp_path / f"q_{mode}")
        res = play(_paced(kp), str(tmp_path / f"{mode}.mid"), target,
                   PlaySettings(pace=True, latency_s=latency, playout=mode))
        assert res.hello.hop == HOP and res.progress.hops == N_FRAMES // HOP
        assert res.playout_mode == mode and res.real_time
        docs[mode] = play_json(res)
    for mode, doc in docs.items():
        mts = doc["motion_to_sound"]
        assert mts["playout"] == mode and mts["margin"] == "fixed"
        for basis in ("measured", "estimated"):
            fig = mts[basis]
            assert fig["notes"] > 0, f"{mode}: no note-on to time"
            assert fig["median_s"] > 0 and fig["p95_s"] >= fig["median_s"]
            assert set(fig["jitter_s"]) == {"median_s", "p95_s"}
            assert set(fig["mean_s"]) == {*PARTS, "total_s"}
    live, steady = docs["live"]["motion_to_sound"], docs["steady"]["motion_to_sound"]
    # the 216 MHz estimate is deterministic (instruction counts, the schedule); the host-clock
    # figures depend on how fast this machine emulates the board (a loaded host answers later
    # than one hop + L, and then both modes play on arrival), so they are only checked present
    assert live["estimated"]["median_s"] < steady["estimated"]["median_s"]
    assert docs["live"]["stream"]["tokens"] == docs["steady"]["stream"]["tokens"]
    assert (tmp_path / "live.mid").read_bytes() == (tmp_path / "steady.mid").read_bytes()
