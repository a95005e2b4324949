"""What the streaming tests stream: the tiny encoder's window and keypoint frames."""

from __future__ import annotations

import numpy as np

STREAM_WINDOW = 24
"""Frames of the tiny streaming-test encoder (conftest.stream_encoder): the motion front end
leaves 23 rows, then 11 -> 5 -> 3 with strides 2, 2, 1."""


def stream_frames(n: int, seed: int) -> np.ndarray:
    """``n`` int8 keypoint frames [n, 65, 3] moving as a random walk (so windows differ)."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.integers(-4, 5, (n, 65, 3)), axis=0) + rng.integers(-60, 60, (1, 65, 3))
    return np.clip(walk, -128, 127).astype(np.int8)
