"""Keypoint sources (clip files, paced or not, the base class contract) and int8 quantisation."""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pytest

from edge.data.clip import Clip, save_clip
from firmware_bridge.errors import SourceError
from firmware_bridge.playout import PlayoutScheduler, VirtualClock
from firmware_bridge.sinks import MemorySink
from firmware_bridge.sources import ClipSource, KeypointSource, quantize_frame, round_half_away

FPS = 22.0


@pytest.fixture
def clip_path(tmp_path: Path) -> Path:
    rng = np.random.default_rng(6)
    kp = rng.uniform(0.0, 1.0, size=(12, 65, 3)).astype(np.float32)
    return save_clip(Clip(keypoints=kp, fps=FPS), tmp_path / "clip.npz")


def test_unpaced_clip_source_yields_every_frame_with_index_and_time(clip_path: Path) -> None:
    clock = VirtualClock(start=50.0)
    expected = np.load(clip_path)["keypoints"]
    with ClipSource(clip_path, pace=False, clock=clock) as source:
        assert source.fps == FPS and source.n_frames == 12
        frames = list(source)
    assert [f.index for f in frames] == list(range(12))
    assert [f.time_s for f in frames] == pytest.approx([i / FPS for i in range(12)])
    for f in frames:
        assert f.keypoints.dtype == np.float32 and f.keypoints.shape == (65, 3)
        np.testing.assert_array_equal(f.keypoints, expected[f.index])
    assert clock.now() == 50.0  # unpaced: never waited
    assert source.closed


def test_paced_clip_source_releases_frames_at_the_clip_frame_rate(clip_path: Path) -> None:
    clock = VirtualClock(start=50.0)
    released = []
    with ClipSource(clip_path, pace=True, clock=clock) as source:
        for _frame in source:
            released.append(clock.now())
            clock.advance(0.01)  # the consumer's own work (sending the frame) takes 10 ms
    assert released == pytest.approx([50.0 + i / FPS for i in range(12)])


def test_paced_source_sleeping_through_the_scheduler_plays_events_between_frames(
    clip_path: Path,
) -> None:
    clock = VirtualClock()
    sink = MemorySink(clock=clock)
    sched = PlayoutScheduler(sink, latency_s=0.1, clock=clock)
    sched.start()
    with ClipSource(clip_path, pace=True, clock=sched) as source:
        for frame in source:
            if frame.index == 2:  # the board answers frame 2 with a note lasting 3 frames
                sched.submit(frame.time_s, mido.Message("note_on", note=60, velocity=80))
                sched.submit(frame.time_s + 3 / FPS, mido.Message("note_off", note=60))
    # both events played while the source waited for later frames, at device time + latency
    assert [(t, m.type) for t, m in sink.events] == [
        (pytest.approx(2 / FPS + 0.1), "note_on"),
        (pytest.approx(5 / FPS + 0.1), "note_off"),
    ]
    assert sched.stats().late == 0


def test_a_source_is_single_pass_and_refuses_reads_after_close(clip_path: Path) -> None:
    source = ClipSource(clip_path, pace=False)
    frames = iter(source)
    next(frames)
    with pytest.raises(SourceError, match="already read"):
        iter(source)
    source.close()
    source.close()  # twice is fine
    assert list(frames) == []  # a closed source stops yielding
    fresh = ClipSource(clip_path, pace=False)
    fresh.close()
    with pytest.raises(SourceError, match="the source is closed"):
        iter(fresh)


def test_missing_or_malformed_clip_is_a_source_error_naming_file_and_field(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"nope\.npz: no such clip file"):
        ClipSource(tmp_path / "nope.npz", pace=False)
    bad = tmp_path / "bad.npz"
    np.savez(bad, keypoints=np.zeros((4, 25, 3), np.float32), fps=np.float64(30))
    with pytest.raises(
        SourceError, match=r"bad\.npz: field 'keypoints' must have shape \[T, 65, 3\]"
    ):
        ClipSource(bad, pace=False)


class ListSource(KeypointSource):
    """A stand-in live source: frames handed over in a list, stamped by the producer."""

    def __init__(self, items: list[tuple[np.ndarray, float]]) -> None:
        self.items = list(items)
        super().__init__(name="list", pace=False)

    def _read(self) -> tuple[np.ndarray, float] | None:
        return self.items.pop(0) if self.items else None


def test_the_base_checks_each_frame_a_backend_produces() -> None:
    good = np.zeros((65, 3), np.float32)
    source = ListSource([(good, 0.0), (np.zeros((65, 2), np.float32), 0.04)])
    frames = iter(source)
    assert next(frames).index == 0
    with pytest.raises(
        SourceError, match=r"list: frame 1: keypoints must have shape \[65, 3\], found \[65, 2\]"
    ):
        next(frames)
    nan = good.copy()
    nan[3, 1] = np.nan
    with pytest.raises(SourceError, match="frame 0: keypoints hold 1 NaN/inf"):
        list(ListSource([(nan, 0.0)]))
    with pytest.raises(SourceError, match="must be float32, found float64"):
        list(ListSource([(good.astype(np.float64), 0.0)]))


# -- int8 quantisation ------------------------------------------------------------------------
def frame_with(values: list[float]) -> np.ndarray:
    frame = np.zeros((65, 3), np.float32)
    frame.flat[: len(values)] = values
    return frame


def test_quantize_rounds_half_away_from_zero_and_clamps() -> None:
    # scale 0.5, zero point -3: x / 0.5 = 0.5, -0.5, 1.5, 2.5, -2.5, 200, -200, 0
    q = quantize_frame(frame_with([0.25, -0.25, 0.75, 1.25, -1.25, 100.0, -100.0, 0.0]), 0.5, -3)
    assert q.dtype == np.int8 and q.shape == (65, 3)
    assert q.flat[:8].tolist() == [1 - 3, -1 - 3, 2 - 3, 3 - 3, -3 - 3, 127, -128, -3]
    assert (q.flat[8:] == -3).all()


def test_quantize_is_exact_where_float32_naive_rounding_is_not() -> None:
    just_below_half = np.nextafter(np.float32(0.5), np.float32(0.0))  # 0.49999997
    assert np.float32(just_below_half) + np.float32(0.5) == np.float32(1.0)  # the naive trap
    q = quantize_frame(frame_with([just_below_half, -just_below_half]), 1.0, 0)
    assert q.flat[:2].tolist() == [0, 0]
    assert round_half_away(np.array([0.5, -0.5, 2.5, -3.5])).tolist() == [1.0, -1.0, 3.0, -4.0]


def test_quantize_then_dequantize_is_within_half_a_step() -> None:
    rng = np.random.default_rng(1)
    frame = rng.uniform(-0.2, 1.2, size=(65, 3)).astype(np.float32)
    scale, zero_point = 1.4 / 255, -92  # -0.2 -> -128.4 (rounds to -128), 1.2 -> 126.6
    q = quantize_frame(frame, scale, zero_point)
    back = (q.astype(np.float64) - zero_point) * scale
    assert np.abs(back - frame).max() <= scale / 2 + 1e-7


@pytest.mark.parametrize(
    ("frame", "scale", "zero_point", "message"),
    [
        (np.zeros((65, 2), np.float32), 0.1, 0, r"shape \[65, 3\], found \[65, 2\]"),
        (np.zeros((65, 3), np.int32), 0.1, 0, "floating point, found int32"),
        (np.zeros((65, 3), np.float32), 0.0, 0, "scale must be a finite number > 0, found 0.0"),
        (np.zeros((65, 3), np.float32), float("nan"), 0, "scale must be"),
        (
            np.zeros((65, 3), np.float32),
            0.1,
            128,
            r"zero_point must be an integer in -128\.\.127, found 128",
        ),
        (frame_with([np.inf]), 0.1, 0, "1 values that are NaN/inf"),
    ],
)
def test_quantize_refuses_bad_input(
    frame: np.ndarray, scale: float, zero_point: int, message: str
) -> None:
    with pytest.raises(SourceError, match=message):
        quantize_frame(frame, scale, zero_point)
