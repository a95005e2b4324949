"""Run the MediaPipe worker in ``.venv-video`` and turn its landmarks into a body65 clip.

:func:`iter_frames` streams mapped frames as the worker produces them (so playback can start
before a video is fully processed); :func:`extract_clip` collects them, fills short gaps,
smooths with a One-Euro filter and resamples to the model's frame rate.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from edge.data.clip import Clip
from firmware_bridge.errors import SourceError
from firmware_bridge.video import filters
from firmware_bridge.video.mapping import RAW_JOINTS, holistic_to_body65

REPO_ROOT = Path(__file__).resolve().parents[2]
RECORD_BYTES = RAW_JOINTS * 3 * 4


@dataclass(frozen=True)
class VideoInfo:
    """What the worker reports about its source before the first frame."""

    fps: float  # the source's frame rate (the camera's, for a live camera)
    frames: int  # number of frames, -1 for a live camera
    width: int  # pixels
    height: int  # pixels


def video_python() -> Path:
    """The interpreter of the MediaPipe environment (``$FOLEY_EDGE_VIDEO_PYTHON`` overrides)."""
    override = os.environ.get("FOLEY_EDGE_VIDEO_PYTHON")
    py = Path(override) if override else REPO_ROOT / ".venv-video" / "bin" / "python"
    if not py.exists():
        raise SourceError(
            f"the MediaPipe environment is missing ({py} not found): run `make setup-video` "
            "(mediapipe 0.10.21 needs numpy < 2 and protobuf < 5, so it has its own virtualenv)"
        )
    return py


def _start_worker(source: str, max_frames: int) -> tuple[subprocess.Popen[bytes], VideoInfo]:
    if not source.isdigit() and not Path(source).is_file():
        raise SourceError(f"{source}: no such video file")
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), GLOG_minloglevel="2", TF_CPP_MIN_LOG_LEVEL="3")
    cmd = [str(video_python()), "-m", "firmware_bridge.video.worker", source]
    if max_frames > 0:
        cmd += ["--max-frames", str(max_frames)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        proc.wait()
        msg = next((ln for ln in err.splitlines() if ln.startswith("error:")), err.strip()[-400:])
        raise SourceError(f"{source}: keypoint extraction failed: {msg}")
    h = json.loads(line)
    return proc, VideoInfo(float(h["fps"]), int(h["frames"]), int(h["width"]), int(h["height"]))


def iter_frames(
    source: str | Path, *, mirrored: bool = False, max_frames: int = 0, progress: bool = False
) -> Iterator[tuple[VideoInfo, np.ndarray]]:
    """Yield ``(info, body65 frame [65, 3])`` for each source frame, as soon as it is extracted."""
    proc, info = _start_worker(str(source), max_frames)
    total = info.frames if info.frames > 0 else None
    if max_frames > 0 and total:
        total = min(total, max_frames)
    bar = tqdm(total=total, unit="frame", desc="keypoints", disable=not progress, file=sys.stderr)
    try:
        assert proc.stdout is not None
        while True:
            rec = proc.stdout.read(RECORD_BYTES)
            if len(rec) < RECORD_BYTES:
                break
            raw = np.frombuffer(rec, "<f4").reshape(RAW_JOINTS, 3)
            bar.update(1)
            yield info, holistic_to_body65(raw, mirrored=mirrored)
    finally:
        bar.close()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    if proc.returncode not in (0, -9):
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise SourceError(f"{source}: the MediaPipe worker exited with {proc.returncode}: {err[-400:]}")


@dataclass(frozen=True)
class CleanUp:
    """Post-processing of extracted keypoints."""

    fps: float = 22.0  # output frame rate (Foley Music's 22 fps)
    max_gap_s: float = 0.25  # fill missing stretches up to this long; longer ones stay missing
    smoothing: filters.OneEuro | None = filters.OneEuro()  # None disables smoothing


def clean_up(kp: np.ndarray, src_fps: float, params: CleanUp = CleanUp()) -> np.ndarray:
    """Fill short gaps, smooth, and resample a [T, 65, 3] array from ``src_fps`` to ``params.fps``."""
    kp = filters.fill_gaps(kp, max_gap=int(round(params.max_gap_s * src_fps)))
    if params.smoothing is not None:
        kp = filters.one_euro(kp, src_fps, params.smoothing)
    return filters.resample(kp, src_fps, params.fps)


def extract_clip(
    video: str | Path,
    *,
    mirrored: bool = False,
    params: CleanUp = CleanUp(),
    max_frames: int = 0,
    progress: bool = True,
) -> Clip:
    """Extract a whole video into a keypoints-only :class:`Clip` at ``params.fps``."""
    frames: list[np.ndarray] = []
    info: VideoInfo | None = None
    for frame_info, frame in iter_frames(video, mirrored=mirrored, max_frames=max_frames, progress=progress):
        info = frame_info
        frames.append(frame)
    if info is None or not frames:
        raise SourceError(f"{video}: the video has no readable frames")
    src_fps = info.fps if info.fps > 0 else 30.0
    raw = np.stack(frames)
    kp = clean_up(raw, src_fps, params)
    hands = raw[:, [25, 45], 2] > 0
    meta = {
        "source": "video",
        "video": str(video),
        "source_fps": src_fps,
        "source_frames": int(raw.shape[0]),
        "size": [info.width, info.height],
        "mirrored": mirrored,
        "left_hand_found": float(hands[:, 0].mean()),
        "right_hand_found": float(hands[:, 1].mean()),
        "pose_found": float((raw[:, 1, 2] > 0).mean()),
    }
    return Clip(keypoints=kp, fps=params.fps, meta=meta)


def write_overlay(video: str | Path, clip_path: str | Path, out: str | Path) -> Path:
    """Draw the clip's skeleton over ``video`` into ``out`` (.mp4) using the MediaPipe env's OpenCV."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    cmd = [str(video_python()), "-m", "firmware_bridge.video.overlay", str(video), str(clip_path), str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if res.returncode != 0:
        raise SourceError(f"{video}: overlay failed: {res.stderr.strip()[-400:]}")
    return Path(out)
