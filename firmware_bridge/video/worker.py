"""MediaPipe Holistic landmark extractor: runs INSIDE ``.venv-video``, streams raw landmarks.

Usage: ``python -m firmware_bridge.video.worker VIDEO_OR_CAMERA_INDEX [--max-frames N]``.

Only numpy, OpenCV and MediaPipe are imported here (that environment has no TensorFlow and
numpy < 2). Output on stdout, binary:

1. one JSON header line: ``{"fps": float, "frames": int, "width": int, "height": int}``
   (``frames`` is -1 for a live camera);
2. per frame, :data:`RECORD_FLOATS` little-endian float32: pose 33 × (x, y, visibility), left
   hand 21 × (x, y, present), right hand 21 × (x, y, present). x, y are normalised to the frame;
   a missing pose or hand has all three channels 0. MediaPipe's "left" is the person's left.

Errors go to stderr as one line starting with ``error:`` and a non-zero exit.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

N_POSE = 33
N_HAND = 21
RECORD_FLOATS = (N_POSE + 2 * N_HAND) * 3


def _landmarks(lms, n: int, *, use_visibility: bool) -> np.ndarray:
    out = np.zeros((n, 3), np.float32)
    if lms is None:
        return out
    for i, lm in enumerate(lms.landmark[:n]):
        conf = lm.visibility if use_visibility else 1.0
        out[i] = (lm.x, lm.y, min(max(conf, 0.0), 1.0))
    return out


def run(source: str, max_frames: int) -> int:
    """Extract landmarks from ``source`` (a path or a camera index) to stdout."""
    import cv2  # noqa: PLC0415 — only in .venv-video
    import mediapipe as mp  # noqa: PLC0415

    cap = cv2.VideoCapture(int(source) if source.isdigit() else source)
    if not cap.isOpened():
        print(f"error: cannot open video '{source}'", file=sys.stderr)
        return 3
    live = source.isdigit()
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    header = {
        "fps": fps,
        "frames": -1 if live else int(cap.get(cv2.CAP_PROP_FRAME_COUNT)),
        "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
        "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
    }
    out = sys.stdout.buffer
    out.write((json.dumps(header) + "\n").encode())
    out.flush()
    holistic = mp.solutions.holistic.Holistic(static_image_mode=False, model_complexity=1)
    n = 0
    while max_frames <= 0 or n < max_frames:
        ok, frame = cap.read()
        if not ok:
            break
        r = holistic.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        rec = np.concatenate([
            _landmarks(r.pose_landmarks, N_POSE, use_visibility=True),
            _landmarks(r.left_hand_landmarks, N_HAND, use_visibility=False),
            _landmarks(r.right_hand_landmarks, N_HAND, use_visibility=False),
        ])
        out.write(rec.astype("<f4").tobytes())
        out.flush()
        n += 1
    holistic.close()
    cap.release()
    return 0


def main() -> int:
    """Command-line entry of the worker."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("source")
    p.add_argument("--max-frames", type=int, default=0)
    a = p.parse_args()
    try:
        return run(a.source, a.max_frames)
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
