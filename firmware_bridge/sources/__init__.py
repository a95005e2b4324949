"""Keypoint sources: where the frames streamed to the board come from.

:class:`ClipSource` reads a clip file; :class:`KeypointSource` is the base a video-file or
live-camera source extends (override ``_open``, ``_read``, ``_close``).
:func:`quantize_frame` turns a frame into the encoder's int8 input.
"""

from firmware_bridge.sources.base import Frame, KeypointSource
from firmware_bridge.sources.clip import ClipSource
from firmware_bridge.sources.quantize import quantize_frame, round_half_away

__all__ = ["ClipSource", "Frame", "KeypointSource", "quantize_frame", "round_half_away"]
