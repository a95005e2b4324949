"""The keypoint source base class: iteration, pacing, frame checks and ``with``.

A source yields :class:`Frame` objects (index, timestamp, float32 [65, 3] body65 keypoints).
Like the MIDI sinks, the base owns what every source shares and a backend overrides only
``_open``, ``_read`` and ``_close``:

* ``_read()`` returns the next ``(keypoints, time_s)`` or ``None`` at the end of the stream.
  A clip file reads from memory with ``time_s = index / fps``; a video file would decode a frame
  and use its presentation time; a live camera would block until the next capture and use the
  capture time — so the same loop serves all three.
* With ``pace=True`` the base releases frame ``i`` no earlier than
  ``start + (time_s[i] - time_s[0])`` on the injected clock (the clip's real frame rate; a no-op
  for a live camera, whose frames are never early). ``pace=False`` yields as fast as the
  consumer takes them. Pass the playout scheduler as the clock and events play while the
  source waits for the next frame.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType

import numpy as np

from edge.skeleton import N_CHANNELS, N_JOINTS
from firmware_bridge.errors import SourceError
from firmware_bridge.playout import Clock, MonotonicClock


@dataclass(frozen=True)
class Frame:
    """One keypoint frame of a stream."""

    index: int  # 0-based position in the stream
    time_s: float  # timestamp in seconds on the source's timeline (a clip: index / fps)
    keypoints: np.ndarray  # float32 [65, 3]: x, y in image units, confidence in [0, 1]


class KeypointSource:
    """A stream of body65 keypoint frames, paced or not, that closes cleanly.

    Subclasses implement ``_open()`` (called once from ``__init__``), ``_read()`` and
    ``_close()`` (called once). Iterating twice is refused: a stream is consumed once.
    """

    def __init__(self, *, name: str, pace: bool, clock: Clock | None = None) -> None:
        self.name = name  # what the user asked for: a path, a device
        self.pace = pace  # release frames at their timestamps (True) or at once (False)
        self.clock: Clock = clock if clock is not None else MonotonicClock()
        self._lock = threading.Lock()
        self._started = False
        self._closed = True
        self._open()
        self._closed = False

    # -- backend interface -------------------------------------------------------------------
    def _open(self) -> None:
        """Acquire the input (read the file, open the device)."""

    def _read(self) -> tuple[np.ndarray, float] | None:
        """The next ``(keypoints [65, 3], time_s)``, or ``None`` at the end of the stream."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _read")

    def _close(self) -> None:
        """Release the input."""

    # -- public API --------------------------------------------------------------------------
    @property
    def fps(self) -> float | None:
        """Nominal frame rate, or None when the source has none."""
        return None

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._closed

    def __iter__(self) -> Iterator[Frame]:
        with self._lock:
            if self._closed:
                raise SourceError(f"{self.name}: cannot read frames: the source is closed")
            if self._started:
                raise SourceError(
                    f"{self.name}: the stream was already read (sources are single-pass)"
                )
            self._started = True
        return self._frames()

    def close(self) -> None:
        """Release the input. Safe to call more than once."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._close()

    def __enter__(self) -> KeypointSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{type(self).__name__} {self.name!r} pace={self.pace} ({state})>"

    # -- internals ---------------------------------------------------------------------------
    def _frames(self) -> Iterator[Frame]:
        index = 0
        origin: tuple[float, float] | None = None  # (clock time, stream time) of frame 0
        while not self._closed:
            item = self._read()
            if item is None:
                return
            keypoints, time_s = item
            _check_frame(keypoints, f"{self.name}: frame {index}")
            if self.pace:
                if origin is None:
                    origin = (self.clock.now(), time_s)
                self.clock.sleep_until(origin[0] + (time_s - origin[1]))
            yield Frame(index=index, time_s=float(time_s), keypoints=keypoints)
            index += 1


def _check_frame(keypoints: np.ndarray, where: str) -> None:
    """Raise :class:`SourceError` unless ``keypoints`` is a finite float32 [65, 3] array."""
    expected = (N_JOINTS, N_CHANNELS)
    if not isinstance(keypoints, np.ndarray) or keypoints.shape != expected:
        found = list(getattr(keypoints, "shape", [])) or type(keypoints).__name__
        raise SourceError(f"{where}: keypoints must have shape {list(expected)}, found {found}")
    if keypoints.dtype != np.float32:
        raise SourceError(f"{where}: keypoints must be float32, found {keypoints.dtype}")
    if not np.isfinite(keypoints).all():
        raise SourceError(
            f"{where}: keypoints hold {int((~np.isfinite(keypoints)).sum())} NaN/inf values"
        )
