"""The fixed-latency playout scheduler, driven by a virtual clock (deterministic, no wall time)."""

from __future__ import annotations

import math
import random

import mido
import pytest

from firmware_bridge.errors import BridgeError
from firmware_bridge.playout import (
    Clock,
    MonotonicClock,
    PlayoutScheduler,
    VirtualClock,
)
from firmware_bridge.sinks import MemorySink

LATENCY = 0.25


def on(note: int, velocity: int = 90) -> mido.Message:
    return mido.Message("note_on", note=note, velocity=velocity)


def off(note: int) -> mido.Message:
    return mido.Message("note_off", note=note, velocity=0)


def cc123(channel: int = 0) -> mido.Message:
    return mido.Message("control_change", channel=channel, control=123, value=0)


def device_events(n: int) -> list[tuple[float, mido.Message]]:
    """A melody: note i on at 0.1 i s, off 0.08 s later (device times)."""
    events = []
    for i in range(n):
        events.append((0.1 * i, on(60 + i % 12)))
        events.append((0.1 * i + 0.08, off(60 + i % 12)))
    return events


def deliver(
    sched: PlayoutScheduler,
    clock: VirtualClock,
    events: list[tuple[float, mido.Message]],
    delays: list[float],
) -> None:
    """Submit each event when it 'arrives' (device time + delay after t0), in arrival order."""
    t0 = sched.t0
    assert t0 is not None
    arrivals = sorted(
        ((t0 + d + delay, i) for i, ((d, _), delay) in enumerate(zip(events, delays, strict=True))),
    )
    for arrival, i in arrivals:
        sched.sleep_until(arrival)
        assert clock.now() == pytest.approx(arrival)
        sched.submit(*events[i])


def test_jittered_arrivals_play_exactly_at_device_time_plus_latency() -> None:
    clock = VirtualClock(start=100.0)
    sink = MemorySink(clock=clock)
    sched = PlayoutScheduler(sink, latency_s=LATENCY, clock=clock)
    t0 = sched.start()
    events = device_events(20)
    rng = random.Random(6)
    delays = [rng.uniform(0.0, 0.2) for _ in events]  # jitter up to 0.2 s < latency: reorders
    deliver(sched, clock, events, delays)
    sched.drain()
    assert [msg for _, msg in sink.events] == [msg for _, msg in events]  # device order
    for (played_at, _), (device_t, _) in zip(sink.events, events, strict=True):
        assert played_at == pytest.approx(t0 + device_t + LATENCY, abs=1e-9)
    stats = sched.stats()
    assert (stats.played, stats.late, stats.pending, stats.dropped) == (40, 0, 0, 0)
    assert stats.max_lag_s == 0.0 and stats.mean_lag_s == 0.0
    assert stats.min_margin_s == pytest.approx(LATENCY - max(delays))


def test_late_events_play_on_arrival_and_are_counted() -> None:
    clock = VirtualClock()
    sink = MemorySink(clock=clock)
    sched = PlayoutScheduler(sink, latency_s=LATENCY, clock=clock)
    t0 = sched.start()
    events = [(0.0, on(60)), (0.5, off(60)), (1.0, on(62)), (1.5, off(62))]
    delays = [0.1, 0.4, 0.05, 0.3]  # events 1 and 3 arrive 0.15 s and 0.05 s after due
    deliver(sched, clock, events, delays)
    sched.drain()
    times = [t - t0 for t, _ in sink.events]
    assert times == pytest.approx([0.25, 0.9, 1.25, 1.8])
    stats = sched.stats()
    assert stats.late == 2 and stats.played == 4
    assert stats.max_lag_s == pytest.approx(0.15)
    assert stats.mean_lag_s == pytest.approx((0.15 + 0.05) / 4)
    assert stats.min_margin_s == pytest.approx(-0.15)


def test_stop_mid_note_drops_the_queue_and_panics() -> None:
    clock = VirtualClock()
    sink = MemorySink(clock=clock)
    sched = PlayoutScheduler(sink, latency_s=LATENCY, clock=clock)
    sched.start()
    for event in [(0.0, on(60)), (0.0, on(64)), (0.3, off(60)), (0.6, off(64))]:
        sched.submit(*event)
    sched.sleep_until(sched.due_time(0.1))  # both notes are sounding now
    assert sink.held_notes == {(0, 60), (0, 64)}
    sched.stop()
    assert sink.messages == [on(60), on(64), off(60), off(64), cc123()]
    assert sink.held_notes == frozenset()
    stats = sched.stats()
    assert (stats.played, stats.dropped, stats.pending) == (2, 2, 0)
    sink.close()


class InterruptingClock(VirtualClock):
    """A virtual clock whose n-th sleep raises KeyboardInterrupt, like Ctrl-C in time.sleep."""

    def __init__(self, interrupt_at_sleep: int) -> None:
        super().__init__()
        self.sleeps = 0
        self.interrupt_at_sleep = interrupt_at_sleep

    def sleep_until(self, t: float) -> None:
        self.sleeps += 1
        if self.sleeps == self.interrupt_at_sleep:
            raise KeyboardInterrupt
        super().sleep_until(t)


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, RuntimeError])
def test_ctrl_c_or_error_inside_with_mid_note_leaves_no_note_held(
    interrupt: type[BaseException],
) -> None:
    clock = InterruptingClock(interrupt_at_sleep=3)
    sink = MemorySink(clock=clock)
    with pytest.raises(interrupt), sink, PlayoutScheduler(sink, latency_s=0.1, clock=clock) as s:
        s.start()
        for event in device_events(5):
            s.submit(*event)
        s.sleep_until(s.due_time(0.05))  # sleeps 1 (note 60 on at 0.1) and 2 (to 0.15)
        assert sink.held_notes == {(0, 60)}
        if interrupt is RuntimeError:
            raise RuntimeError("device link lost")
        s.drain()  # sleep 3, towards the note-off at 0.18, is interrupted
    assert sink.held_notes == frozenset()
    # the scheduler's stop() panics, then the sink's close() panics again (nothing held by then)
    assert sink.events == [
        (pytest.approx(0.1), on(60)),
        (pytest.approx(0.15), off(60)),
        (pytest.approx(0.15), cc123()),
        (pytest.approx(0.15), cc123()),
    ]
    assert sink.closed and sink.closed_count == 1


def test_scheduler_is_a_clock_for_paced_sources() -> None:
    clock = VirtualClock()
    sched = PlayoutScheduler(MemorySink(clock=clock), latency_s=0.0, clock=clock)
    assert isinstance(sched, Clock) and isinstance(clock, Clock)
    assert isinstance(MonotonicClock(), Clock)
    sched.sleep_until(5.0)
    assert sched.now() == 5.0


def test_submit_before_start_anchors_device_zero_at_the_first_arrival() -> None:
    clock = VirtualClock(start=7.0)
    sink = MemorySink(clock=clock)
    sched = PlayoutScheduler(sink, latency_s=0.5, clock=clock)
    sched.submit(0.0, on(60))
    assert sched.t0 == 7.0 and sink.messages == []
    sched.drain()
    assert sink.events == [(7.5, on(60))]


def test_bad_arguments_are_refused() -> None:
    sink = MemorySink(clock=VirtualClock())
    with pytest.raises(BridgeError, match="latency must be a finite number >= 0 s, found -1"):
        PlayoutScheduler(sink, latency_s=-1)
    sched = PlayoutScheduler(sink, latency_s=0.1, clock=VirtualClock())
    with pytest.raises(BridgeError, match="start()"):
        sched.due_time(0.0)
    with pytest.raises(BridgeError, match="finite, found nan"):
        sched.submit(math.nan, on(60))
    with pytest.raises(BridgeError, match="dt must be >= 0"):
        VirtualClock().advance(-0.1)


def test_monotonic_clock_sleep_until_returns_once_the_time_has_come() -> None:
    clock = MonotonicClock()
    target = clock.now() + 0.002
    clock.sleep_until(target)
    assert clock.now() >= target


def test_after_a_board_reset_stop_and_start_re_anchor_device_time() -> None:
    clock = VirtualClock()
    sink = MemorySink(clock=clock)
    sched = PlayoutScheduler(sink, latency_s=0.1, clock=clock)
    sched.start()
    sched.submit(0.0, on(60))
    sched.submit(1.0, off(60))
    sched.sleep_until(0.5)
    sched.stop()  # the board reset: its note-off will never come
    clock.advance(2.0)  # reconnecting
    t0 = sched.start()  # the new session's device clock starts again at 0
    sched.submit(0.0, on(62))
    sched.submit(0.2, off(62))
    sched.drain()
    assert sink.events == [
        (pytest.approx(0.1), on(60)),
        (pytest.approx(0.5), off(60)),
        (pytest.approx(0.5), cc123()),
        (pytest.approx(t0 + 0.1), on(62)),
        (pytest.approx(t0 + 0.3), off(62)),
    ]
    assert t0 == pytest.approx(2.5) and sink.held_notes == frozenset()
    stats = sched.stats()
    assert (stats.played, stats.dropped, stats.late) == (3, 1, 0)
