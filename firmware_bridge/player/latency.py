"""Motion-to-sound timing of a stream: per-note host timestamps, percentiles, the auto margin.

A note's motion-to-sound latency is the time from the keypoint frame that shows its onset to
the moment its note-on is handed to the sink. The frame's moment is its performance time on the
stream's wall clock: ``t0 + frame / fps``, where ``t0`` is anchored when the stream's first frame
is sent (a paced source releases frame ``i`` at ``i / fps`` after it; a frame held back by the
link, e.g. while the board is busy and its receive window full, still happened at its time).
:class:`NoteTiming` keeps the four host-clock moments that split the latency (onset frame, the
hop's last frame sent, the hop's events received, note-on handed over);
:mod:`firmware_bridge.player.budget` turns them into the budget.

The playout margin ``play`` uses by default ('auto', :class:`AutoMargin`): when hop ``k``'s
events arrive, ``need_k`` = arrival - (t0 + end of hop ``k`` on the clip's timeline) is how much
later than the hop's end they came (the board's answer time, the link, the host's own jitter).
The margin is ``max(0, p95(need)) + AUTO_SAFETY_S`` over the hops seen so far (nearest rank, so
below 20 hops it is the largest one seen), raised before the hop's events are queued: the hop
that raises it still plays on time. A raise shifts the music later once; a hop slower than the
95th percentile plays its first events late (on arrival). With ``window`` (``play`` uses
:data:`AUTO_WINDOW_HOPS`) the percentile covers only the last ``window`` hops, so the margin
follows the jitter down again once a slow stretch (QEMU's first-transfer stall, a busy host)
is over; live playout (``play --playout live``) takes L = the margin alone, from the median
(:data:`LIVE_PERCENTILE`) instead of the 95th percentile; the steady playout lowers its latency
only as far as keeps every new event due after every queued one (:meth:`firmware_bridge.playout.PlayoutScheduler.retarget_latency`: a hop's
note-offs keep coming before the next hop's note-ons). Without ``window`` it never lowers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from firmware_bridge.errors import BridgeError

AUTO_SAFETY_S = 0.03
"""Added to the 95th percentile of the observed answer delays by the auto margin."""

AUTO_PERCENTILE = 95.0  # which percentile of the answer delays the auto margin covers

LIVE_PERCENTILE = 50.0
"""Which percentile of the answer delays live playout's 'auto' L covers: the median. Live playout
plays an event that arrives after its time + L on arrival (in order), so L only has to cover a
typical answer, keeping the rhythm of the notes late in a hop; a higher percentile would add
the slow hops' delay to every note (one QEMU stall in the window set L to 1.6 s with the p95)."""

AUTO_WINDOW_HOPS = 32
"""Hops ``play``'s auto margin looks back over (5.8 s at a 4-frame hop, 32 s at 22): older
answer delays age out, so one slow hop does not set the margin for the rest of a performance."""


@dataclass(frozen=True)
class NoteTiming:
    """One note-on of a stream and the host-clock moments its latency is made of."""

    hop: int  # position of its hop in StreamResult.hops
    note: int  # MIDI pitch
    time_s: float  # onset on the clip's timeline (seconds)
    frame: int  # clip frame that shows the onset (within its hop's frames)
    hop_frame: int  # that frame's position in its hop (0 = the hop's first frame)
    frame_at_s: float  # host clock: the onset frame happened (t0 + frame / fps)
    hop_sent_s: float  # host clock: the hop's last frame was sent
    received_s: float  # host clock: the hop's last EVENTS part arrived
    handed_s: float  # host clock: the note-on was handed to the sink

    @property
    def total_s(self) -> float:
        """Motion-to-sound: onset frame -> note-on handed to the sink."""
        return self.handed_s - self.frame_at_s


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), linear between closest ranks (numpy's default)."""
    if not values:
        raise BridgeError("percentile of no values: expected at least one")
    if not 0.0 <= q <= 100.0:
        raise BridgeError(f"percentile: q must lie in [0, 100], found {q}")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def nearest_rank(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile by nearest rank: always one of ``values`` (the max below
    ``100 / (100 - q)`` values)."""
    if not values:
        raise BridgeError("nearest_rank of no values: expected at least one")
    xs = sorted(values)
    return xs[max(0, math.ceil(q / 100.0 * len(xs)) - 1)]


def auto_margin(needs: Sequence[float], *, safety_s: float = AUTO_SAFETY_S,
                q: float = AUTO_PERCENTILE) -> float:
    """The margin the answer delays ``needs`` call for (module doc); ``safety_s`` alone if none."""
    if not needs:
        return safety_s
    return max(0.0, nearest_rank(needs, q)) + safety_s


def onset_frame(time_s: float, fps: float, first: int, hop: int) -> int:
    """The clip frame showing an onset at ``time_s``: the latest frame at or before it, kept
    within the hop's frames ``first .. first + hop - 1``."""
    j = math.floor(time_s * fps + 1e-6)
    return min(max(j, first), first + hop - 1)


class AutoMargin:
    """The 'auto' playout margin from each hop's answer delay (module doc)."""

    def __init__(self, *, safety_s: float = AUTO_SAFETY_S, window: int | None = None,
                 q: float = AUTO_PERCENTILE) -> None:
        if window is not None and window < 1:
            raise BridgeError(f"auto margin window: expected at least 1 hop, found {window}")
        if not 0.0 <= q <= 100.0:
            raise BridgeError(f"auto margin percentile: expected 0..100, found {q}")
        self.safety_s = safety_s  # added to the percentile
        self.q = q  # which percentile of the answer delays (AUTO_PERCENTILE; live: LIVE_PERCENTILE)
        self.window = window  # hops the percentile covers (None: all, and it only grows)
        self.needs: list[float] = []  # per hop: arrival - hop end on the playout clock (s)
        self.margin_s = 0.0  # current margin

    def observe(self, need_s: float) -> float:
        """Take one hop's answer delay; returns the margin the delays call for now (never lower
        than before without a window)."""
        self.needs.append(need_s)
        recent = self.needs if self.window is None else self.needs[-self.window:]
        target = auto_margin(recent, safety_s=self.safety_s, q=self.q)
        self.margin_s = max(self.margin_s, target) if self.window is None else target
        return self.margin_s
