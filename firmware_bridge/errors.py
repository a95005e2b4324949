"""Exceptions of the host bridge (serial link, protocol, sinks, sources, boards)."""

from edge.errors import FoleyEdgeError


class BridgeError(FoleyEdgeError):
    """Base of everything the host side of the board link raises."""


class ProtocolError(BridgeError):
    """A frame or message violates the protocol (bad CRC, COBS, length, version, type...)."""


class SinkError(BridgeError):
    """A MIDI sink cannot be opened or written."""


class SourceError(BridgeError):
    """A keypoint source cannot be opened or read."""


class BoardError(BridgeError):
    """A board cannot be built, booted, flashed or reached."""
