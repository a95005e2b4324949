"""A keypoint source reading a clip file (``edge.data.clip``) at its real frame rate or unpaced."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from edge.data.clip import Clip, ClipError, load_clip
from firmware_bridge.errors import SourceError
from firmware_bridge.playout import Clock
from firmware_bridge.sources.base import KeypointSource


class ClipSource(KeypointSource):
    """Frames of a ``.npz`` clip; frame ``i`` is stamped ``i / fps`` seconds."""

    def __init__(
        self, path: str | os.PathLike[str], *, pace: bool, clock: Clock | None = None
    ) -> None:
        self.path = Path(path)  # the clip file
        self._next = 0
        super().__init__(name=str(self.path), pace=pace, clock=clock)

    @property
    def clip(self) -> Clip:
        """The loaded clip (keypoints, fps, reference tokens, metadata)."""
        return self._clip

    @property
    def fps(self) -> float:
        """The clip's frame rate."""
        return self._clip.fps

    @property
    def n_frames(self) -> int:
        """Number of frames the stream yields."""
        return self._clip.n_frames

    def _open(self) -> None:
        try:
            self._clip = load_clip(self.path)
        except ClipError as e:
            raise SourceError(f"keypoint source: {e}") from e

    def _read(self) -> tuple[np.ndarray, float] | None:
        i = self._next
        if i >= self._clip.n_frames:
            return None
        self._next += 1
        return self._clip.keypoints[i], i / self._clip.fps
