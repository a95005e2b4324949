"""Keypoint extraction with MediaPipe Holistic on real footage and on a synthetic video.

The footage ships in PyPI packages (Sports2D's demo, Pose2Sim's single-person demo): real people,
not musicians, but real motion. `make setup-video` creates .venv-video and unpacks it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from edge import skeleton as sk
from edge.data.clip import load_clip
from firmware_bridge.errors import SourceError
from firmware_bridge.video.extract import REPO_ROOT, extract_clip, video_python
from foley_edge.cli import main as cli_main

FOOTAGE = REPO_ROOT / ".venv-video" / "footage"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def footage() -> Path:
    video_python()  # raises a clear SourceError when `make setup-video` has not run
    if not (FOOTAGE / "pose2sim_cam01.mp4").exists():
        pytest.fail(f"sample footage missing in {FOOTAGE}: run `make setup-video`")
    return FOOTAGE


@pytest.fixture(scope="module")
def cam01(footage: Path):
    return extract_clip(footage / "pose2sim_cam01.mp4", progress=False)


def _limb_lengths(kp: np.ndarray, a: int, b: int) -> np.ndarray:
    ok = (kp[:, a, 2] > 0) & (kp[:, b, 2] > 0)
    return np.linalg.norm(kp[ok, a, :2] - kp[ok, b, :2], axis=1)


def test_real_footage_shapes_fps_and_pose(cam01) -> None:
    # 100 frames at 60 fps = 1.65 s -> frames at k/22 s for k = 0..36
    assert cam01.keypoints.shape == (37, 65, 3) and cam01.fps == 22.0
    assert cam01.meta["source_fps"] == 60.0 and cam01.meta["source_frames"] == 100
    assert cam01.meta["pose_found"] >= 0.9
    conf = cam01.keypoints[..., 2]
    assert ((conf >= 0) & (conf <= 1)).all()
    torso = [sk.NECK, 2, 5, 8]  # neck, shoulders, mid-hip
    assert (conf[:, torso] > 0).mean() >= 0.9


def test_real_footage_skeleton_is_geometrically_sane(cam01) -> None:
    kp = cam01.keypoints
    for a, b in ((2, 3), (5, 6), (9, 10), (12, 13), (1, 8)):  # upper arms, thighs, spine
        lengths = _limb_lengths(kp, a, b)
        assert len(lengths) >= 20
        jumps = np.abs(np.diff(lengths)) / np.median(lengths)
        assert np.median(jumps) < 0.1, (a, b, np.median(jumps))  # stable over time
    # body proportions: the spine is longer than a forearm, shoulders are left/right of the neck
    spine = np.median(_limb_lengths(kp, 1, 8))
    assert spine > np.median(_limb_lengths(kp, 3, 4))


def test_missing_hands_have_zero_confidence_and_no_coordinates(cam01) -> None:
    for off in (sk.LEFT_HAND_OFFSET, sk.RIGHT_HAND_OFFSET):
        hand = cam01.keypoints[:, off : off + sk.N_HAND]
        missing = hand[:, :, 2] == 0
        assert (hand[missing][:, :2] == 0).all()
    found = cam01.meta["left_hand_found"], cam01.meta["right_hand_found"]
    assert all(0 < f <= 1 for f in found)


def test_sports2d_demo_partial_extraction(footage: Path) -> None:
    clip = extract_clip(footage / "sports2d_demo.mp4", max_frames=60, progress=False)
    assert clip.keypoints.shape == (44, 65, 3)  # 60 frames at 30 fps -> 0..59/30 s at 22 fps
    assert clip.meta["source_frames"] == 60


def _synthetic_video(path: Path, frames: int, fps: float) -> None:
    script = (
        "import cv2, numpy as np, sys\n"
        "w = cv2.VideoWriter(sys.argv[1], cv2.VideoWriter_fourcc(*'mp4v'), float(sys.argv[3]), (320, 240))\n"
        "for i in range(int(sys.argv[2])):\n"
        "    f = np.full((240, 320, 3), 40, np.uint8)\n"
        "    cv2.rectangle(f, (10 + 3 * i, 80), (60 + 3 * i, 160), (200, 180, 30), -1)\n"
        "    w.write(f)\n"
        "w.release()\n"
    )
    subprocess.run([str(video_python()), "-c", script, str(path), str(frames), str(fps)], check=True)


def test_synthetic_video_without_a_person(tmp_path: Path, footage: Path) -> None:
    video = tmp_path / "shapes.mp4"
    _synthetic_video(video, frames=45, fps=30.0)
    out = tmp_path / "shapes.npz"
    assert cli_main(["keypoints", str(video), "--out", str(out), "--fps", "15"]) == 0
    clip = load_clip(out)
    assert clip.keypoints.shape == (23, 65, 3) and clip.fps == 15.0  # 44/30 s -> 0..22 at 15 fps
    assert (clip.keypoints == 0).all()  # nobody there: every joint missing, nothing invented
    assert clip.meta["pose_found"] == 0.0


def test_overlay_writes_a_video(tmp_path: Path, footage: Path) -> None:
    out, overlay = tmp_path / "c.npz", tmp_path / "overlay.mp4"
    video = footage / "pose2sim_cam02.mp4"
    assert cli_main(["keypoints", str(video), "--out", str(out), "--max-frames", "20", "--overlay", str(overlay)]) == 0
    assert overlay.stat().st_size > 10_000
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary file left behind


def test_bad_video_paths_give_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], footage: Path) -> None:
    assert cli_main(["keypoints", str(tmp_path / "none.mp4"), "--out", str(tmp_path / "x.npz")]) == 2
    assert "no such video file" in capsys.readouterr().err
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all")
    with pytest.raises(SourceError, match="junk.mp4"):
        extract_clip(junk, progress=False)
    assert not (tmp_path / "x.npz").exists()


def test_play_from_a_missing_camera_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str], footage: Path) -> None:
    # No camera exists in CI: the live path must fail cleanly, naming the camera.
    out = tmp_path / "cam.mid"
    rc = cli_main(["play", "--camera", "7", "--midi-out", str(out), "--no-pace", "--offline"])
    assert rc == 2
    assert "cannot open video '7'" in capsys.readouterr().err
