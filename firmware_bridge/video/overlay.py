"""Draw a body65 clip over the video it came from: runs INSIDE ``.venv-video`` (needs OpenCV).

Usage: ``python -m firmware_bridge.video.overlay VIDEO CLIP.npz OUT.mp4``. Each video frame
shows the clip frame nearest in time (the clip may have another frame rate); joints with
confidence 0 are not drawn. Writes to a temporary file, then renames.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from edge import skeleton as sk
from edge.data.clip import load_clip

_BODY = (80, 200, 255)
_LEFT = (90, 230, 90)
_RIGHT = (255, 120, 90)


def _colour(a: int, b: int) -> tuple[int, int, int]:
    if max(a, b) >= sk.RIGHT_HAND_OFFSET:
        return _RIGHT
    if max(a, b) >= sk.LEFT_HAND_OFFSET:
        return _LEFT
    return _BODY


def draw(frame: np.ndarray, kp: np.ndarray) -> None:
    """Draw one [65, 3] body65 frame onto a BGR image in place."""
    import cv2  # noqa: PLC0415

    h, w = frame.shape[:2]
    pts = np.round(kp[:, :2] * (w, h)).astype(int)
    for a, b in sk.EDGES:
        if kp[a, 2] > 0 and kp[b, 2] > 0:
            cv2.line(frame, tuple(pts[a]), tuple(pts[b]), _colour(a, b), 2, cv2.LINE_AA)
    for j in np.flatnonzero(kp[:, 2] > 0):
        cv2.circle(frame, tuple(pts[j]), 3, (255, 255, 255), -1, cv2.LINE_AA)


def main() -> int:
    """Command-line entry of the overlay writer."""
    import cv2  # noqa: PLC0415

    video, clip_path, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    clip = load_clip(clip_path)
    cap = cv2.VideoCapture(video)
    if not cap.isOpened():
        print(f"error: cannot open video '{video}'", file=sys.stderr)
        return 3
    fps = cap.get(cv2.CAP_PROP_FPS) or clip.fps
    size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    tmp = out.with_name(f".{out.stem}.tmp{out.suffix}")
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    n = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        k = min(int(round(n / fps * clip.fps)), clip.n_frames - 1)
        draw(frame, clip.keypoints[k])
        writer.write(frame)
        n += 1
    writer.release()
    cap.release()
    if n == 0:
        tmp.unlink(missing_ok=True)
        print(f"error: '{video}' has no readable frames", file=sys.stderr)
        return 3
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
