"""Playout: MIDI events play at their device timestamps + a latency, not when they arrive.

The board sends events as ``(device_time_s, mido.Message)``; they reach the host with jitter
(UART, the emulator, the hop-by-hop decoding). :class:`PlayoutScheduler` plays each event at

    due = t0 + device_time_s + latency_s

on an injected :class:`Clock`, where ``t0`` is the host time of device time 0 (the start of the
stream). Steps and costs:

1. :meth:`PlayoutScheduler.submit` stamps the arrival time, plays the event at once if it is
   already due ("late": counted, lag recorded), else pushes it on a heap keyed by
   ``(due, arrival order)`` — O(log n).
2. :meth:`PlayoutScheduler.sleep_until` waits on the clock until a target time, waking at each
   queued due time on the way to play it. The scheduler is itself a :class:`Clock`, so a
   paced keypoint source can sleep *through* it and events play while the host waits for the
   next frame — one thread, no races, deterministic under a fake clock.
3. :meth:`PlayoutScheduler.drain` plays everything left at its due time;
   :meth:`PlayoutScheduler.stop` drops what is left and panics the sink (so does leaving a
   ``with`` block, also on an exception or Ctrl-C).

Typical host loop (``foley-edge play``; ``link`` stands for the protocol's device link)::

    clock = MonotonicClock()  # VirtualClock() to render --no-pace into .mid/.wav
    sink = open_sink(spec, clock=clock)
    with sink, PlayoutScheduler(sink, latency_s=0.3, clock=clock) as playout:
        with ClipSource(clip, pace=True, clock=playout) as frames:  # waiting plays events
            playout.start()
            for frame in frames:
                link.send_keypoints(quantize_frame(frame.keypoints, scale, zero_point))
                for device_time_s, msg in link.poll_events():
                    playout.submit(device_time_s, msg)
        playout.drain()

After a board reset, :meth:`PlayoutScheduler.stop` (panic, drop the queue) and
:meth:`PlayoutScheduler.start` again re-anchor device time 0 for the new session.

Two modes (``mode``, ``play --playout``):

* ``"steady"`` (the default): every event plays ``latency_s`` after its device time, as above;
  with ``latency_s`` at least one hop plus the answer delay (``play``'s 'auto'), the rhythm
  inside a hop is kept exactly, at the cost of that latency for every note.
* ``"live"``: an event is handed over as soon as it may, at ``max(now, t0 + device_time_s +
  latency_s)`` with a small ``latency_s`` (the answer delay): a note whose hop answered after
  that plays on arrival. Order is kept by device time: an event never plays before a queued
  event stamped earlier (its due time is raised to theirs; ties keep submission order, so a
  hop's note-off, stamped at or after its note-on and submitted after it, plays after it) nor
  after a queued event stamped later (lowered to theirs when the latency was raised since).
  An event stamped earlier than one already played cannot be helped: it plays on arrival.
  Lowering or raising ``latency_s`` any time keeps that order (:meth:`retarget_latency`).
  The recording sinks still get every event at its device time (``send(msg, at_s=...)``), so a
  .mid/.wav does not move; only what a live port hears does.

Limits: single-threaded by design. ``submit`` may be called from another thread (a lock guards
the queue), but an event submitted while :meth:`sleep_until` is already sleeping towards a later
time is played when that sleep ends; keep submit and sleep on one thread for exact timing.
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import mido

from firmware_bridge.errors import BridgeError

if TYPE_CHECKING:
    from firmware_bridge.sinks.base import MidiSink


@runtime_checkable
class Clock(Protocol):
    """A source of host time in seconds that can also wait."""

    def now(self) -> float:
        """Current time in seconds (arbitrary origin, never decreasing)."""
        ...

    def sleep_until(self, t: float) -> None:
        """Return once ``now() >= t`` (at once if that already holds)."""
        ...


class MonotonicClock:
    """The real clock: :func:`time.monotonic` and :func:`time.sleep`."""

    def now(self) -> float:
        """Seconds from :func:`time.monotonic`."""
        return time.monotonic()

    def sleep_until(self, t: float) -> None:
        """Sleep until ``time.monotonic() >= t``."""
        while (delay := t - time.monotonic()) > 0:
            time.sleep(delay)


class VirtualClock:
    """A clock whose waits take no time: ``sleep_until(t)`` jumps to ``t``.

    For offline rendering (``--no-pace`` into a .mid or .wav: note timing still follows the
    device timestamps, with no waiting) and for deterministic tests.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._t = float(start)  # the current virtual time in seconds

    def now(self) -> float:
        """The current virtual time."""
        return self._t

    def sleep_until(self, t: float) -> None:
        """Advance to ``t`` if it lies in the future."""
        self._t = max(self._t, float(t))

    def advance(self, dt: float) -> None:
        """Let ``dt`` seconds pass (time spent elsewhere, e.g. waiting for the serial line)."""
        if dt < 0:
            raise BridgeError(f"VirtualClock.advance: dt must be >= 0, found {dt}")
        self._t += dt


@dataclass(frozen=True)
class PlayoutStats:
    """How well the fixed latency absorbed the arrival jitter."""

    played: int  # events sent to the sink
    late: int  # events that arrived after their due time and were played at once
    pending: int  # events still queued
    dropped: int  # events discarded by stop()
    mean_lag_s: float  # mean of (play time - due time) over played events; 0 when none
    max_lag_s: float  # largest (play time - due time); 0 when none
    min_margin_s: float  # smallest (due time - arrival time); negative = late; inf when none


PLAYOUT_MODES = ("steady", "live")
"""``mode`` of :class:`PlayoutScheduler` (module doc); the first is the default."""


@dataclass(order=True)
class _Queued:
    due: float  # host time it plays
    rank: float  # ties of ``due``: device time in live mode (order by time), 0 in steady mode
    seq: int  # then submission order
    msg: mido.Message = field(compare=False)
    device_time_s: float = field(compare=False, default=0.0)
    tag: object = field(compare=False, default=None)
    target: float = field(compare=False, default=0.0)  # t0 + device time + latency (lag base)


OnPlay = Callable[[float, mido.Message, object], None]
"""Called after each event is handed to the sink: ``(device_time_s, msg, tag)``."""


class PlayoutScheduler:
    """Plays ``(device_time_s, msg)`` events on a sink at ``t0 + device_time_s + latency_s``
    or, arriving after that, at once (``mode="live"``: a small latency, device-time order kept
    among queued events; module doc)."""

    def __init__(self, sink: MidiSink, *, latency_s: float, clock: Clock | None = None,
                 on_play: OnPlay | None = None, mode: str = "steady") -> None:
        if not (math.isfinite(latency_s) and latency_s >= 0):
            raise BridgeError(f"playout latency must be a finite number >= 0 s, found {latency_s}")
        if mode not in PLAYOUT_MODES:
            raise BridgeError(f"playout mode must be one of {', '.join(PLAYOUT_MODES)}, "
                              f"found {mode!r}")
        self.sink = sink  # where events go
        self.mode = mode  # "steady" or "live" (module doc)
        self.latency_s = float(latency_s)  # delay added to every device timestamp
        self.clock: Clock = clock if clock is not None else MonotonicClock()
        self.on_play = on_play  # told of every event handed to the sink (latency measurement)
        self._t0: float | None = None
        self._queue: list[_Queued] = []
        self._seq = itertools.count()
        self._lock = threading.RLock()
        self._played = self._late = self._dropped = 0
        self._lag_sum = self._lag_max = 0.0
        self._min_margin = math.inf

    # -- the stream ----------------------------------------------------------------------------
    @property
    def t0(self) -> float | None:
        """Host time of device time 0, or None before :meth:`start`."""
        return self._t0

    def start(self, t0: float | None = None) -> float:
        """Anchor device time 0 at host time ``t0`` (default: now); returns it."""
        with self._lock:
            self._t0 = self.clock.now() if t0 is None else float(t0)
            return self._t0

    def due_time(self, device_time_s: float) -> float:
        """Host time at which an event stamped ``device_time_s`` plays."""
        if self._t0 is None:
            raise BridgeError("playout: call start() before submitting or timing events")
        return self._t0 + device_time_s + self.latency_s

    def raise_latency(self, latency_s: float) -> None:
        """Raise the playout latency to ``latency_s`` (never lowers it).

        Events already queued keep their due times; later ones play ``latency_s`` after their
        device time. Only raising keeps every later event due after every earlier one, so a
        hop's note-offs still come before the next hop's note-ons (no note is cut or held).
        """
        if not math.isfinite(latency_s):
            raise BridgeError(f"playout latency must be finite, found {latency_s}")
        with self._lock:
            self.latency_s = max(self.latency_s, float(latency_s))

    def retarget_latency(self, latency_s: float, *, from_device_time_s: float) -> float:
        """Move the latency toward ``latency_s`` for events stamped ``from_device_time_s`` or
        later; returns the latency now.

        Raising is always allowed (:meth:`raise_latency`). Lowering goes only as far as keeps
        such events due no earlier than every event already queued (the queue's ties play in
        submission order), so no pair of events changes order; while queued events reach past
        the new ones' time at the current latency (a hop whose events run past the next hop's
        start) it does not lower at all."""
        if not math.isfinite(latency_s) or not math.isfinite(from_device_time_s):
            raise BridgeError(f"playout latency and device time must be finite, found "
                              f"{latency_s}, {from_device_time_s}")
        with self._lock:
            if self.mode == "live":  # live dues keep device-time order whatever the latency
                self.latency_s = max(float(latency_s), 0.0)
                return self.latency_s
            if latency_s >= self.latency_s or self._t0 is None:
                self.latency_s = max(self.latency_s, float(latency_s))
                return self.latency_s
            last_due = max((q.due for q in self._queue), default=-math.inf)
            floor = last_due - self._t0 - from_device_time_s  # may exceed it: no lowering then
            self.latency_s = min(self.latency_s, max(float(latency_s), floor, 0.0))
            return self.latency_s

    def submit(self, device_time_s: float, msg: mido.Message, *, tag: object = None) -> None:
        """Queue one event; play it now if it is already due (counted as late when overdue).

        ``tag`` comes back to ``on_play`` with the event (e.g. which hop made it)."""
        if not math.isfinite(device_time_s):
            raise BridgeError(f"playout: device time must be finite, found {device_time_s}")
        with self._lock:
            if self._t0 is None:
                self.start()
            due = self.due_time(device_time_s)
            arrival = self.clock.now()
            self._min_margin = min(self._min_margin, due - arrival)
            if self.mode == "live":
                self._late += due < arrival
                at = self._live_due(max(due, arrival), device_time_s)
                heapq.heappush(self._queue, _Queued(at, device_time_s, next(self._seq), msg,
                                                    device_time_s, tag, due))
                self.play_due()
            elif due < arrival:
                self._late += 1
                self._play(due, msg, arrival, device_time_s, tag)
            else:
                heapq.heappush(self._queue,
                               _Queued(due, 0.0, next(self._seq), msg, device_time_s, tag, due))
                self.play_due()

    def _live_due(self, due: float, device_time_s: float) -> float:
        """Live mode: ``due`` moved into device-time order among the queued events: no earlier
        than any stamped at or before ``device_time_s``, no later than any stamped after it."""
        floor = max((q.due for q in self._queue if q.device_time_s <= device_time_s),
                    default=-math.inf)
        cap = min((q.due for q in self._queue if q.device_time_s > device_time_s),
                  default=math.inf)
        return min(max(due, floor), cap)

    def play_due(self) -> int:
        """Play every queued event whose due time has come; returns how many."""
        n = 0
        with self._lock:
            now = self.clock.now()
            while self._queue and self._queue[0].due <= now:
                item = heapq.heappop(self._queue)
                self._play(item.target, item.msg, now, item.device_time_s, item.tag)
                n += 1
        return n

    # -- Clock protocol: waiting plays events ---------------------------------------------------
    def now(self) -> float:
        """The scheduler's clock time."""
        return self.clock.now()

    def sleep_until(self, t: float) -> None:
        """Wait until ``t``, playing each queued event at its due time on the way."""
        while True:
            self.play_due()
            with self._lock:
                next_due = self._queue[0].due if self._queue else math.inf
            if self.clock.now() >= t:
                return
            self.clock.sleep_until(min(t, next_due))

    def drain(self) -> None:
        """Play every queued event at its due time, then return."""
        while True:
            with self._lock:
                if not self._queue:
                    return
                next_due = self._queue[0].due
            self.sleep_until(next_due)

    def stop(self) -> None:
        """Drop the queued events and panic the sink (all held notes off, CC 123)."""
        with self._lock:
            self._dropped += len(self._queue)
            self._queue.clear()
            self.sink.panic()

    def stats(self) -> PlayoutStats:
        """Counters and lag statistics so far."""
        with self._lock:
            return PlayoutStats(
                played=self._played,
                late=self._late,
                pending=len(self._queue),
                dropped=self._dropped,
                mean_lag_s=self._lag_sum / self._played if self._played else 0.0,
                max_lag_s=self._lag_max,
                min_margin_s=self._min_margin,
            )

    def __enter__(self) -> PlayoutScheduler:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _play(self, due: float, msg: mido.Message, now: float, device_time_s: float,
              tag: object) -> None:
        self.sink.send(msg, at_s=device_time_s)  # recording sinks write it at its own time
        lag = max(0.0, now - due)
        self._played += 1
        self._lag_sum += lag
        self._lag_max = max(self._lag_max, lag)
        if self.on_play is not None:
            self.on_play(device_time_s, msg, tag)
