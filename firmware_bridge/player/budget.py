"""Motion-to-sound latency of a ``play`` run, note by note: measured, and estimated for 216 MHz.

A note's latency runs from the keypoint frame that shows its onset to its note-on handed to the
sink (:class:`firmware_bridge.player.latency.NoteTiming`). Its :class:`Budget`, part by part
(the parts sum to the total):

* **hop wait**: the onset frame waits for the rest of its hop (frames ``p+1 .. hop-1`` after
  position ``p``): up to a hop for an onset at the hop's start, none at its end;
* **encoder** and **decoder**: the board's run for the hop — one encoder run, then a decoder
  step per token plus the step that emits EOS (all the hop's tokens are decoded before any is
  sent);
* **serial**: the bytes on the link at its baud, 10 bits a byte (8N1): the hop's last KEYPOINTS
  frame up, its CREDIT and its EVENTS messages down;
* **playout**: the time in the playout queue: the margin, plus the wait that keeps the rhythm
  (every note plays one hop + margin after its time, so a note late in its hop, which waited
  little for the hop, waits here instead). Live playout (``play --playout live``) has no hop in
  it: a note plays at ``max(arrival, time + L)``, so most wait nothing here.

Besides the budget, each basis gives every note's **offset**: when it sounds minus its time on
the performance's timeline. Steady playout gives every note the same offset (one hop + margin,
more for a note played late); live playout gives a note early in its hop more than one late in
it. The **jitter** is how far a note's offset lies from the run's median offset (median and
95th percentile over the notes): how far the playout moves notes against each other — for live
playout, how far it moves them from where a steady playout (one offset for all) puts them.

Two bases, both from the same run:

* **measured** (:func:`measured`) on the host clock: hop wait = the hop's last frame sent - the
  onset frame's moment (which includes any time the link held that frame back); the answer (the hop's last frame sent -> its last EVENTS part received) is
  split into serial (its bytes at the link's baud; 0 on ``socket://`` and ``loop://``, which
  have none, e.g. QEMU's emulated UART: there the link's time is inside the answer) and the
  rest, shared between encoder and decoder in proportion to the device's counts for the hop
  (``E`` per encoder run, ``D`` per decoder step: the run's means from STATS); playout = handed
  - received. Only a real-time (paced) stream has a measured figure: an unpaced one plays on a
  virtual clock, so its hand-over moments say nothing about latency.
* **estimated** (:func:`estimated`) for a board at ``clock_hz`` (the STM32F746 at 216 MHz), one
  instruction per cycle as in the RTF: encoder ``E / clock``, decoder ``(tokens + 1) D /
  clock``, serial at ``baud`` (115200, the F746's ST-LINK port: the hop's last frame up, its
  answer down), the board as one queue (:func:`board_timeline`: hop ``k`` starts when its last
  frame is in and the board is done with hop ``k - 1``), hop wait from frame times
  (``(hop - 1 - p) / fps``) plus any time its frames wait for the board (a board slower than
  real time falls behind: with short hops and many tokens per hop the answers queue up — the
  measured basis sees the same as frames held back by the link), and the playout latency the
  'auto' rule would pick for those answers: one hop + ``auto_margin`` of the answer delays
  ``arrival_k - end_k`` over the hops. A note due before its hop's answer arrives plays on
  arrival (playout 0). Live playout: each note at ``max(arrival, time + L)``, ``L`` =
  ``auto_margin`` alone (no hop) over the median answer delay (``LIVE_PERCENTILE``). Limits: counts from QEMU's ``-icount`` are instructions, not cycles
  (flash wait states and cache misses cost more, dual issue less); E is the mean per encoder
  run, so a streamed encoder's priming (``ceil(W / H) - 1`` hops of the stream's first frame,
  run while its first hop's frames arrive, not metered as a run) is left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edge.protocol_spec import EVENTS_FLAG_LAST, EVENTS_MAX_ITEMS
from edge.skeleton import N_CHANNELS, N_JOINTS
from firmware_bridge.player.hops import Hop
from firmware_bridge.player.latency import (
    AUTO_PERCENTILE,
    LIVE_PERCENTILE,
    NoteTiming,
    auto_margin,
    percentile,
)
from firmware_bridge.player.stream import StreamResult
from firmware_bridge.protocol import messages as m

REFERENCE_BOARD = "stm32f746-disco"  # the real board the estimate is for
REFERENCE_CLOCK_HZ = 216e6  # its core clock
REFERENCE_BAUD = 115200  # its host link (USART1 via the ST-LINK port, board.c HOST_BAUD)
BITS_PER_BYTE = 10  # 8N1: start + 8 data + stop
UNTIMED_SCHEMES = ("socket://", "loop://")  # link URLs without a baud rate


@dataclass(frozen=True)
class Budget:
    """One note's motion-to-sound latency, part by part, in seconds (module doc)."""

    hop_wait_s: float  # the onset frame waits for the rest of its hop
    encoder_s: float  # the hop's encoder run
    decoder_s: float  # the hop's decoder steps (tokens + the EOS step)
    serial_s: float  # bytes on the link at its baud
    playout_s: float  # in the playout queue: margin + keeping the rhythm

    @property
    def total_s(self) -> float:
        """The note's motion-to-sound latency: the sum of the parts."""
        return self.hop_wait_s + self.encoder_s + self.decoder_s + self.serial_s + self.playout_s


PARTS = ("hop_wait_s", "encoder_s", "decoder_s", "serial_s", "playout_s")  # Budget's fields


@dataclass(frozen=True)
class LatencyFigures:
    """Motion-to-sound over the notes of a run, on one basis (measured or estimated)."""

    basis: str  # how the figures were obtained, e.g. "measured on qemu-m7 (host clock)"
    per_note: tuple[Budget, ...]  # every timed note-on's budget, in play order
    margin_s: float  # the playout margin beyond one hop that the figures include (live: L)
    offsets_s: tuple[float, ...] = ()  # per note: sounds - its time on the timeline (module doc)

    @property
    def notes(self) -> int:
        """Note-ons timed."""
        return len(self.per_note)

    @property
    def median_s(self) -> float | None:
        """Median motion-to-sound latency (None without notes)."""
        return percentile([b.total_s for b in self.per_note], 50) if self.per_note else None

    @property
    def p95_s(self) -> float | None:
        """95th percentile of the motion-to-sound latency (None without notes)."""
        return percentile([b.total_s for b in self.per_note], 95) if self.per_note else None

    @property
    def jitter_s(self) -> tuple[float, float] | None:
        """(median, p95) of ``|offset - median offset|`` over the notes (module doc); None
        without notes."""
        if not self.offsets_s:
            return None
        mid = percentile(self.offsets_s, 50)
        dev = [abs(o - mid) for o in self.offsets_s]
        return percentile(dev, 50), percentile(dev, 95)

    @property
    def mean(self) -> Budget | None:
        """Each part's mean over the notes (the means sum to the mean total)."""
        if not self.per_note:
            return None
        n = len(self.per_note)
        return Budget(*(sum(getattr(b, f) for b in self.per_note) / n for f in PARTS))


@dataclass(frozen=True)
class MotionToSound:
    """The motion-to-sound figures of one run: measured (real time only) and estimated."""

    measured: LatencyFigures | None  # host clock; None for an unpaced stream
    estimated: LatencyFigures  # the reference board at its clock, from the device's counts
    hop_s: float  # hop length (frames / fps)
    playout_latency_s: float  # the playout latency the run ended with (one hop + margin; live: L)
    margin_auto: bool  # the margin was 'auto' (from the answer delays) rather than fixed
    mode: str = "steady"  # the playout mode: "steady" (hop + margin) or "live" (on arrival, L)


def wire_bytes_up() -> int:
    """Bytes on the wire of one KEYPOINTS frame (host -> device)."""
    q = np.zeros((N_JOINTS, N_CHANNELS), np.int8)
    return len(m.encode_message(m.Keypoints.from_array(0, q), 0))


def wire_bytes_down(tokens: Sequence[int]) -> int:
    """Bytes on the wire of a hop's answer: the CREDIT of its last frame and its EVENTS parts
    (split at EVENTS_MAX_ITEMS; a hop with no token still sends one, empty)."""
    n = len(m.encode_message(m.Credit(0, 1, 0), 0))
    starts = range(0, max(len(tokens), 1), EVENTS_MAX_ITEMS)
    for i in starts:
        part = tuple(m.EventItem(t, 0) for t in tokens[i:i + EVENTS_MAX_ITEMS])
        last = EVENTS_FLAG_LAST if i + EVENTS_MAX_ITEMS >= len(tokens) else 0
        n += len(m.encode_message(m.Events(0, 0, last, part), 0))
    return n


def serial_s(tokens: Sequence[int], baud: float) -> float:
    """Time on a ``baud`` link for a hop's last frame up and its answer down."""
    return (wire_bytes_up() + wire_bytes_down(tokens)) * BITS_PER_BYTE / baud


def _counts(res: StreamResult) -> tuple[float, float]:
    """(E, D): device counts per encoder run and per decoder step, means over the run."""
    s = res.stats
    return (s.enc_instr_total / s.enc_runs if s.enc_runs else 0.0,
            s.dec_instr_total / s.dec_tokens if s.dec_tokens else 0.0)


def _link_baud(url: str) -> float | None:
    """The baud of a link URL; None for those without one (sockets, loops)."""
    return None if url.startswith(UNTIMED_SCHEMES) or not url else float(REFERENCE_BAUD)


def _measured_note(n: NoteTiming, hop: Hop, counts: tuple[float, float],
                   baud: float | None) -> Budget:
    answer = n.received_s - n.hop_sent_s
    link = min(answer, serial_s(hop.tokens, baud)) if baud else 0.0
    enc, dec = counts[0], counts[1] * (len(hop.tokens) + 1)
    share = enc / (enc + dec) if enc + dec > 0 else 1.0
    return Budget(hop_wait_s=n.hop_sent_s - n.frame_at_s, encoder_s=(answer - link) * share,
                  decoder_s=(answer - link) * (1.0 - share), serial_s=link,
                  playout_s=n.handed_s - n.received_s)


def measured(res: StreamResult) -> LatencyFigures | None:
    """Motion-to-sound measured on the host clock (module doc); None unless real time."""
    if not res.real_time:
        return None
    counts, baud = _counts(res), _link_baud(res.link_url)
    fps = res.hello.fps
    hop_s = res.hello.hop / fps if fps else 0.0
    where = f"measured on {res.hello.board} (host clock)"
    # the note's own moment: its onset frame's moment + its time past that frame's start
    offsets = tuple(n.handed_s - n.frame_at_s - (n.time_s - n.frame / fps) for n in res.notes) \
        if fps else ()
    return LatencyFigures(where, tuple(_measured_note(n, res.hops[n.hop], counts, baud)
                                       for n in res.notes),
                          res.playout_latency_s - (hop_s if res.playout_mode == "steady" else 0.0),
                          offsets)


@dataclass(frozen=True)
class HopTiming:
    """One hop on the estimated board's timeline (seconds on the clip's clock)."""

    end_s: float  # the hop's end: its last frame's time + one frame
    start_s: float  # the board starts on it: last frame in, earlier hops done
    queued_s: float  # of which waiting for the board to finish earlier hops
    encoder_s: float  # its encoder run
    decoder_s: float  # its decoder steps
    serial_s: float  # its last frame up and its answer down
    arrival_s: float  # its answer is in at the host

    @property
    def need_s(self) -> float:
        """The answer delay the auto margin covers: arrival - the hop's end."""
        return self.arrival_s - self.end_s


def board_timeline(res: StreamResult, *, clock_hz: float, baud: float) -> list[HopTiming]:
    """Each hop of ``res`` on a board at ``clock_hz`` with a ``baud`` link, run in order by one
    core: hop ``k`` (frames ``first .. first + hop - 1``) is in ``up`` after its last frame,
    starts then or when hop ``k - 1`` is done, runs ``E + (tokens + 1) D`` instructions, then
    sends its answer (``down`` on the link; the firmware writes the UART by polling, so the
    core is busy until it is out). Not counted: the DIN MIDI bytes, written the same way at
    31250 baud on boards with a DIN port, and the CREDITs of the hop's other frames."""
    fps, hop = res.hello.fps, res.hello.hop
    enc, dec = _counts(res)
    up = wire_bytes_up() * BITS_PER_BYTE / baud
    out: list[HopTiming] = []
    free = -float("inf")  # the board is done with the hops before
    for h in res.hops:
        if out and h.session != res.hops[len(out) - 1].session:
            free = -float("inf")  # a restarted device has nothing queued
        end = (h.first_frame + hop) / fps
        ready = end - 1.0 / fps + up
        start = max(ready, free)
        e, d = enc / clock_hz, dec * (len(h.tokens) + 1) / clock_hz
        link = serial_s(h.tokens, baud)
        free = start + e + d + link - up  # the answer is out
        out.append(HopTiming(end, start, start - ready, e, d, link, free))
    return out


def estimated(res: StreamResult, *, clock_hz: float = REFERENCE_CLOCK_HZ,
              baud: float = REFERENCE_BAUD, board: str = REFERENCE_BOARD) -> LatencyFigures:
    """Motion-to-sound estimated for ``board`` at ``clock_hz`` from the run's counts (module
    doc): the same notes, their hops' token counts, frame times instead of host times."""
    fps, hop = res.hello.fps, res.hello.hop
    timeline = board_timeline(res, clock_hz=clock_hz, baud=baud) if fps else []
    live = res.playout_mode == "live"
    q = LIVE_PERCENTILE if live else AUTO_PERCENTILE
    margin = auto_margin([t.need_s for t in timeline], q=q) if fps else 0.0
    delay = margin + (hop / fps if not live and fps else 0.0)
    notes, offsets = [], []
    for n in res.notes:
        t = timeline[n.hop]
        wait = (hop - 1 - n.hop_frame) / fps + t.queued_s
        sounds = max(n.time_s + delay, t.arrival_s)
        notes.append(Budget(wait, t.encoder_s, t.decoder_s, t.serial_s, sounds - t.arrival_s))
        offsets.append(sounds - n.time_s)
    mhz = f"{clock_hz / 1e6:g} MHz"
    return LatencyFigures(f"estimated for {board} at {mhz} ({baud:g} baud)", tuple(notes),
                          margin, tuple(offsets))


def reference_board(name: str) -> tuple[str, float]:
    """(real board, its clock) the estimate is for: the one whose budgets the board ``name``
    (HELLO's) has, e.g. nucleo-f411re at 100 MHz for qemu-f411; the STM32F746 for names the
    registry does not know."""
    from firmware_bridge.boards.registry import BOARDS, real_board

    if name not in BOARDS:
        return REFERENCE_BOARD, REFERENCE_CLOCK_HZ
    real = real_board(BOARDS[name])
    return real.name, float(real.target_hz)


def motion_to_sound(res: StreamResult) -> MotionToSound:
    """Both figures of a run (module doc), the estimate for the real board the run's board
    stands for (:func:`reference_board`)."""
    hop_s = res.hello.hop / res.hello.fps if res.hello.fps else 0.0
    board, clock_hz = reference_board(res.hello.board)
    return MotionToSound(measured(res), estimated(res, clock_hz=clock_hz, board=board), hop_s,
                         res.playout_latency_s, res.margin_auto, res.playout_mode)


def figures_dict(f: LatencyFigures | None, *, per_note: bool = True) -> dict[str, object] | None:
    """``f`` as JSON-ready data (seconds): basis, notes, median, p95, margin, mean budget and,
    with ``per_note``, every note's budget and total."""
    if f is None:
        return None
    mean = f.mean
    doc: dict[str, object] = {
        "basis": f.basis, "notes": f.notes, "median_s": f.median_s, "p95_s": f.p95_s,
        "margin_s": f.margin_s,
        "jitter_s": None if f.jitter_s is None else {"median_s": f.jitter_s[0],
                                                     "p95_s": f.jitter_s[1]},
        "mean_s": None if mean is None else {**{p: getattr(mean, p) for p in PARTS},
                                             "total_s": mean.total_s},
    }  # fmt: skip
    if per_note:
        doc["per_note_s"] = [{**{p: getattr(b, p) for p in PARTS}, "total_s": b.total_s}
                             for b in f.per_note]
    return doc


def motion_to_sound_dict(mts: MotionToSound, *, per_note: bool = True) -> dict[str, object]:
    """Both figures and the playout setting as JSON-ready data (seconds)."""
    return {
        "hop_s": mts.hop_s, "playout_latency_s": mts.playout_latency_s,
        "margin": "auto" if mts.margin_auto else "fixed", "playout": mts.mode,
        "measured": figures_dict(mts.measured, per_note=per_note),
        "estimated": figures_dict(mts.estimated, per_note=per_note),
    }  # fmt: skip


def _ms(t: float | None) -> str:
    return "n/a" if t is None else f"{1e3 * t:,.0f} ms"


def headline(f: LatencyFigures | None, fallback: str) -> str:
    """``median X, p95 Y over N notes — basis`` (or ``fallback`` without figures)."""
    if f is None or not f.notes:
        return fallback if f is None else f"no note-on to time — {f.basis}"
    jitter = "" if f.jitter_s is None else \
        f", jitter {_ms(f.jitter_s[0])} / p95 {_ms(f.jitter_s[1])}"
    return f"median {_ms(f.median_s)}, p95 {_ms(f.p95_s)}{jitter} over {f.notes} notes — {f.basis}"


def motion_to_sound_lines(mts: MotionToSound, *, table: bool = True) -> list[str]:
    """The human report: the two headline lines and, with ``table``, the mean budget per part."""
    margin = "auto" if mts.margin_auto else "fixed"
    if mts.mode == "live":
        playout = (f"  playout      live: each note at max(arrival, its time + {1e3 * mts.playout_latency_s:,.0f} ms)"
                   f" ({margin}; hop {1e3 * mts.hop_s:,.0f} ms)")
    else:
        playout = (f"  playout      {1e3 * mts.playout_latency_s:,.0f} ms = hop {1e3 * mts.hop_s:,.0f} ms"
                   f" + margin {1e3 * (mts.playout_latency_s - mts.hop_s):,.0f} ms ({margin})")
    lines = [
        f"motion->sound  {headline(mts.measured, 'not measured: unpaced stream (no real time)')}",
        f"               {headline(mts.estimated, '')}",
        playout,
    ]  # fmt: skip
    if not table:
        return lines
    lines.append(f"  {'mean budget, ms':<22}" + "".join(f"{h:>9}" for h in (
        "hop wait", "encoder", "decoder", "serial", "playout", "total")))
    for name, f in (("measured (host clock)", mts.measured), ("estimate", mts.estimated)):
        mean = f.mean if f is not None else None
        if mean is not None:
            cells = [getattr(mean, p) for p in PARTS] + [mean.total_s]
            lines.append(f"  {name:<22}" + "".join(f"{1e3 * c:9,.0f}" for c in cells))
    return lines
