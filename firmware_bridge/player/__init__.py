"""``foley-edge play``: keypoints to a board, its events to a MIDI sink, with no stuck notes.

:func:`play` (session: sink, board, link), :func:`stream` (the streaming loop),
:func:`hop_messages` (one hop's tokens -> MIDI with the host's rules).
"""

from firmware_bridge.player.hops import Hop, HopAssembler, hop_messages
from firmware_bridge.player.session import PlaySettings, PlayTarget, play
from firmware_bridge.player.stream import StreamProgress, StreamResult, stream

__all__ = [
    "Hop", "HopAssembler", "PlaySettings", "PlayTarget", "StreamProgress", "StreamResult",
    "hop_messages", "play", "stream",
]  # fmt: skip
