"""Hop bookkeeping of a stream: EVENTS messages -> per-hop tokens -> timed MIDI.

The device decodes one hop every ``hop`` frames and sends its tokens in one or more EVENTS
messages (the last flagged ``EVENTS_FLAG_LAST``), numbered from 0 after every boot or RESET.
:class:`HopAssembler` joins the parts; :func:`hop_messages` turns one hop's tokens into MIDI
with the host's rules (:class:`edge.midi.stream.TokenToMidi`, one fresh stream per hop, closed
at the hop's end — what ``export.host_decode.hops_to_midi`` and the firmware's DIN output do),
stamped on the clip's clock: hop ``k`` of a device session whose first frame was clip frame
``base`` starts at ``(base + k * hop) / fps`` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import mido

from edge.midi.stream import TokenToMidi
from edge.protocol_spec import EVENTS_FLAG_LAST
from firmware_bridge.protocol import messages as m


@dataclass(frozen=True)
class Hop:
    """One decoded hop as the host received it."""

    session: int  # device session (0, then +1 after each device restart)
    index: int  # hop index within the session (the device's count)
    start_s: float  # hop start on the clip's clock (seconds)
    tokens: tuple[int, ...]  # the tokens, in order (no SOS/EOS)
    received_s: float  # host clock when its last EVENTS part arrived
    first_frame: int = 0  # clip index of the hop's first frame (base + index * hop)


def hop_messages(tokens: tuple[int, ...], start_s: float) -> list[tuple[float, mido.Message]]:
    """The hop's MIDI messages in TokenToMidi's emission order, at clip times (seconds)."""
    stream = TokenToMidi()
    out: list[tuple[float, mido.Message]] = []
    for t in tokens:
        out.extend(stream.feed(t))
    out.extend(stream.close())
    return [(start_s + t, msg) for t, msg in out]


class HopAssembler:
    """Joins EVENTS parts into hops; :meth:`restart` after a device reset."""

    def __init__(self, *, hop_frames: int, fps: float) -> None:
        self.hop_frames = hop_frames  # frames per hop (HELLO)
        self.fps = fps  # frames per second (HELLO)
        self.session = 0  # device session counter
        self.base_frame = 0  # clip frame the current session started at
        self._parts: dict[int, list[int]] = {}

    def restart(self, base_frame: int) -> None:
        """A new device session whose first frame is clip frame ``base_frame``."""
        self.session += 1
        self.base_frame = base_frame
        self._parts.clear()

    def add(self, msg: m.Events, received_s: float) -> Hop | None:
        """Take one EVENTS part; the whole hop once its last part came, else None."""
        self._parts.setdefault(msg.hop_index, []).extend(msg.tokens)
        if not msg.flags & EVENTS_FLAG_LAST:
            return None
        tokens = tuple(self._parts.pop(msg.hop_index))
        first = self.base_frame + msg.hop_index * self.hop_frames
        return Hop(self.session, msg.hop_index, first / self.fps, tokens, received_s, first)
