"""What ``foley-edge play`` shows and reads: the live status line, frame sources, the summary.

:func:`frame_source` gives ``play`` its frames as a function of the playout scheduler and the
model's frame rate: a clip (:class:`ClipSource`, paced through the scheduler) or a video whose
keypoints MediaPipe extracts on the fly in its own process
(:func:`firmware_bridge.video.extract.iter_frames`, so extraction and streaming overlap),
resampled to the model's fps by taking, for output frame ``j``, the latest source frame at or
before ``j / fps``.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from firmware_bridge.errors import BridgeError
from firmware_bridge.player.budget import (
    motion_to_sound,
    motion_to_sound_dict,
    motion_to_sound_lines,
)
from firmware_bridge.player.stream import StreamProgress, StreamResult
from firmware_bridge.playout import Clock
from firmware_bridge.sources import ClipSource, Frame

FrameFactory = Callable[[Clock, float], Iterable[Frame]]


def resample(frames: Iterable[tuple[float, np.ndarray]], fps: float) -> Iterator[Frame]:
    """``(time_s, keypoints)`` at any rate -> frames at ``fps`` (latest frame at or before)."""
    j = 0
    last: np.ndarray | None = None
    for t, kp in frames:
        while last is not None and j / fps < t:
            yield Frame(j, j / fps, last)
            j += 1
        last = kp.astype(np.float32)
    while last is not None and j == 0:
        yield Frame(j, 0.0, last)
        j += 1


def _video_frames(video: Path, fps: float, clock: Clock, pace: bool) -> Iterator[Frame]:
    from firmware_bridge.video.extract import iter_frames

    def timed() -> Iterator[tuple[float, np.ndarray]]:
        for i, (info, kp) in enumerate(iter_frames(video, progress=False)):
            yield i / info.fps, kp

    origin = None
    for f in resample(timed(), fps):
        if pace:
            origin = clock.now() if origin is None else origin
            clock.sleep_until(origin + f.time_s)
        yield f


def frame_source(keypoints: Path | None, video: Path | None, *, pace: bool) -> FrameFactory:
    """The frames of a clip file or of a video, as ``play`` asks for them."""
    if keypoints is not None:
        return lambda clock, fps: ClipSource(keypoints, pace=pace, clock=clock)
    if video is None:
        raise BridgeError("play: give a keypoint clip (--keypoints) or a video (--video)")
    return lambda clock, fps: _video_frames(video, fps, clock, pace)


class StatusLine:
    """One live line on stderr: frames sent, events received, latency, lag (paced only).

    Redrawn when a counter changed, at most every ``min_interval_s`` (the stream polls far more
    often than that), and on :meth:`close`.
    """

    def __init__(self, *, paced: bool = True, min_interval_s: float = 0.2) -> None:
        self.paced = paced  # show the playout lag (meaningless on an unpaced virtual clock)
        self.min_interval_s = min_interval_s  # fastest redraw rate
        self._shown = False
        self._last_key: tuple[int, ...] | None = None
        self._last_time = -math.inf
        self._pending: StreamProgress | None = None

    def update(self, p: StreamProgress) -> None:
        """Redraw the line if it changed and the last redraw is old enough."""
        key = (p.frames_sent, p.hops, p.events, p.resets, len(p.errors))
        if key == self._last_key:
            return
        now = time.monotonic()
        if now - self._last_time < self.min_interval_s:
            self._pending = p
            return
        self._draw(p, key, now)

    def _draw(self, p: StreamProgress, key: tuple[int, ...], now: float) -> None:
        lat = f"{1e3 * p.latencies_s[-1]:.0f} ms" if p.latencies_s else "-"
        lag = f"  lag {1e3 * p.lag_s:5.0f} ms" if self.paced else ""
        sys.stderr.write(f"\r  frames {p.frames_sent:5d}  hops {p.hops:4d}  events {p.events:5d}"
                         f"  latency {lat:>7}{lag}  resets {p.resets}")
        sys.stderr.flush()
        self._shown, self._last_key, self._last_time, self._pending = True, key, now, None

    def close(self) -> None:
        """Draw what is pending and end the line."""
        if self._pending is not None:
            p = self._pending
            self._draw(p, (p.frames_sent, p.hops, p.events, p.resets, len(p.errors)),
                       time.monotonic())
        if self._shown:
            sys.stderr.write("\n")


def parse_latency(text: str) -> float | None:
    """``play --latency``: 'auto' (None) or a fixed playout latency in seconds (>= 0)."""
    if text.strip().lower() == "auto":
        return None
    try:
        value = float(text)
    except ValueError:
        raise BridgeError(f"--latency: expected 'auto' or seconds >= 0, found {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise BridgeError(f"--latency: expected 'auto' or seconds >= 0, found {value}")
    return value


def play_json(res: StreamResult) -> dict[str, object]:
    """``play --json``: the stream's counters, device counts, answer times and motion-to-sound."""
    s, p, hello = res.stats, res.progress, res.hello
    lat = sorted(p.latencies_s)
    return {
        "device": {"board": hello.board, "firmware": hello.fw_version,
                   "model_hash": f"0x{hello.model_hash:08X}", "fps": hello.fps, "hop": hello.hop},
        "stream": {"frames": p.frames_sent, "hops": p.hops, "tokens": p.events,
                   "resets": p.resets, "late_events": p.late, "errors": list(p.errors),
                   "real_time": res.real_time},
        "encoder_instr_per_hop": s.enc_instr_total / s.enc_runs if s.enc_runs else None,
        "decoder_instr_per_step": s.dec_instr_total / s.dec_tokens if s.dec_tokens else None,
        "answer_s": {"median": lat[len(lat) // 2] if lat else None,
                     "max": lat[-1] if lat else None, "per_hop": p.latencies_s},
        "answer_delays_s": list(res.answer_delays_s),
        "motion_to_sound": motion_to_sound_dict(motion_to_sound(res)),
    }  # fmt: skip


def summary(res: StreamResult) -> str:
    """The end-of-stream report: model, tokens, device instructions, host latency, and
    motion-to-sound latency with its budget."""
    s, p = res.stats, res.progress
    enc = s.enc_instr_total / s.enc_runs if s.enc_runs else 0.0
    dec = s.dec_instr_total / s.dec_tokens if s.dec_tokens else 0.0
    lat = sorted(p.latencies_s)
    med = f"{1e3 * lat[len(lat) // 2]:.1f} ms (median of {len(lat)} hops, max {1e3 * lat[-1]:.1f} ms)" \
        if lat else "n/a"
    return "\n".join([
        f"device     {res.hello.board} firmware {res.hello.fw_version}, model 0x{res.hello.model_hash:08X}",
        f"stream     {p.frames_sent} frames, {p.hops} hops, {p.events} tokens, {p.resets} resets",
        f"encoder    {enc:,.0f} instructions per hop ({s.enc_runs} runs)",
        f"decoder    {dec:,.0f} instructions per step ({s.dec_tokens} steps)",
        f"latency    frame sent -> events received: {med}",
        f"playout    {p.late} MIDI events late (played on arrival instead of on time)",
        *motion_to_sound_lines(motion_to_sound(res)),
        *(f"error      {e}" for e in p.errors),
    ])
