"""Live playout (issue #20 part 3): each event at max(arrival, its time + L), in device-time
order, note-offs after their note-ons, nothing held after a stop; a recording keeps the
performance's timeline. Driven by a virtual clock (deterministic)."""

from __future__ import annotations

import random

import mido
import pytest

from firmware_bridge.errors import BridgeError
from firmware_bridge.playout import PlayoutScheduler, VirtualClock
from firmware_bridge.sinks import MemorySink
from firmware_bridge.sinks.midifile import MidiFileSink

L = 0.03  # the live latency: a small answer delay


def on(note: int) -> mido.Message:
    return mido.Message("note_on", note=note, velocity=90)


def off(note: int) -> mido.Message:
    return mido.Message("note_off", note=note, velocity=0)


def live(latency_s: float = L, start: float = 10.0) -> tuple[PlayoutScheduler, MemorySink,
                                                               VirtualClock, float]:
    clock = VirtualClock(start=start)
    sink = MemorySink(clock=clock)
    sched = PlayoutScheduler(sink, latency_s=latency_s, clock=clock, mode="live")
    return sched, sink, clock, sched.start()


def hop(sched: PlayoutScheduler, clock: VirtualClock, t0: float, arrival: float,
        events: list[tuple[float, mido.Message]]) -> None:
    """One hop's answer: wait (playing what is due) until ``arrival``, then submit it."""
    sched.sleep_until(t0 + arrival)
    assert clock.now() == pytest.approx(t0 + arrival)
    for t, msg in events:
        sched.submit(t, msg)


def test_a_hop_plays_on_arrival_or_at_its_time_plus_l_in_order() -> None:
    """Hop [0, 0.2) answered at 0.25: its first notes play on arrival, the later ones at
    their time + L; nothing waits for a hop + margin as steady playout would."""
    sched, sink, clock, t0 = live()
    events = [(0.0, on(60)), (0.05, off(60)), (0.1, on(62)), (0.23, off(62)), (0.24, on(64)),
              (0.3, off(64))]
    hop(sched, clock, t0, 0.25, events)
    sched.drain()
    assert sink.messages == [m for _, m in events]
    played = [t - t0 for t, _ in sink.events]
    assert played == pytest.approx([0.25, 0.25, 0.25, 0.26, 0.27, 0.33])
    st = sched.stats()
    assert (st.played, st.late, st.pending) == (6, 3, 0)  # the first three missed time + L
    assert st.max_lag_s == pytest.approx(0.25 - L)
    with pytest.raises(BridgeError, match="playout mode must be one of steady, live"):
        PlayoutScheduler(sink, latency_s=0.0, mode="fast")


def test_a_late_hop_plays_at_once_and_never_before_queued_earlier_events() -> None:
    """A hop submitted while earlier-stamped events wait (a lowered L) waits for them; an
    earlier-stamped event submitted after a raise does not wait behind later ones."""
    sched, sink, clock, t0 = live(latency_s=0.5)
    hop(sched, clock, t0, 0.1, [(0.0, on(60)), (0.4, off(60))])  # due 0.5 and 0.9
    sched.retarget_latency(0.0, from_device_time_s=0.2)
    hop(sched, clock, t0, 0.15, [(0.2, on(62)), (0.6, off(62))])
    # 0.2 + 0 would be now, but on(60) (stamped 0.0) is due at 0.5: on(62) waits for it, and
    # off(62) (stamped 0.6, due 0.6) comes after off(60) (stamped 0.4, due 0.9)
    sched.retarget_latency(1.0, from_device_time_s=0.3)
    hop(sched, clock, t0, 0.2, [(0.3, on(64))])  # 1.3 would come after off(60) (0.4): 0.9
    sched.drain()
    order = [(m.type, m.note) for m in sink.messages]
    assert order == [("note_on", 60), ("note_on", 62), ("note_on", 64), ("note_off", 60),
                     ("note_off", 62)]
    assert [t - t0 for t, _ in sink.events] == pytest.approx([0.5, 0.5, 0.9, 0.9, 0.9])


def test_an_earlier_hops_trailing_note_off_does_not_hold_back_the_next_hop() -> None:
    """A hop's last note is released 0.5 s on (TokenToMidi's DEFAULT_NOTE): live playout keeps
    device-time order, not submission order, so the next hop's notes are not held behind it."""
    sched, sink, clock, t0 = live()
    hop(sched, clock, t0, 0.2, [(0.1, on(60)), (0.6, off(60))])
    hop(sched, clock, t0, 0.4, [(0.25, on(62)), (0.3, off(62))])
    sched.drain()
    assert [(m.type, m.note) for m in sink.messages] == [
        ("note_on", 60), ("note_on", 62), ("note_off", 62), ("note_off", 60)]
    assert [t - t0 for t, _ in sink.events] == pytest.approx([0.2, 0.4, 0.4, 0.63])


def test_note_off_never_before_its_note_on_under_random_hops_and_latencies() -> None:
    """Random hops (late or early answers, L moved up and down between hops): every note-off
    comes after its note-on, no event plays before it arrived, and an event plays after one
    stamped later only when it arrived after that one had played."""
    rng = random.Random(20)
    for _ in range(30):
        sched, sink, clock, t0 = live(latency_s=rng.uniform(0.0, 0.3))
        hop_s, arrival = 0.18, 0.0
        stamped: dict[tuple[str, int], tuple[float, float]] = {}  # -> (device time, arrival)
        for k in range(12):
            events = []
            for j in range(rng.randrange(0, 4)):
                t = k * hop_s + rng.uniform(0.0, hop_s)
                note = 30 + 3 * k + j  # one note per pitch: messages are told apart by it
                events += [(t, on(note)), (t + rng.choice((0.0, 0.01, 0.5)), off(note))]
            events.sort(key=lambda e: e[0])
            arrival = max(arrival, (k + 1) * hop_s + rng.uniform(-0.02, 0.3))
            sched.retarget_latency(rng.uniform(0.0, 0.3), from_device_time_s=k * hop_s)
            hop(sched, clock, t0, arrival, events)
            stamped.update({(m.type, m.note): (t, t0 + arrival) for t, m in events})
        sched.drain()
        assert sched.stats().played == len(sink.events) == len(stamped)
        held: set[int] = set()
        for i, (played_at, m) in enumerate(sink.events):
            t, arrived = stamped[(m.type, m.note)]
            assert played_at >= arrived - 1e-12
            if m.type == "note_on":
                held.add(m.note)
            else:
                assert m.note in held, f"note-off {m.note} before its note-on"
                held.discard(m.note)
            for before_at, b in sink.events[:i]:
                if stamped[(b.type, b.note)][0] > t:  # a later-stamped event played first
                    assert arrived >= before_at - 1e-12
        assert not held


def test_stop_releases_every_note_and_drops_the_queue() -> None:
    sched, sink, clock, t0 = live(latency_s=0.2)
    hop(sched, clock, t0, 0.25, [(0.0, on(60)), (0.1, on(64)), (0.3, off(60)), (0.5, off(64)),
                                 (0.6, on(67))])
    sched.sleep_until(t0 + 0.35)
    assert sink.held_notes == {(0, 60), (0, 64)}
    sched.stop()
    assert sink.held_notes == frozenset()
    st = sched.stats()
    assert (st.played, st.dropped, st.pending) == (2, 3, 0)
    assert sink.messages[-3:] == [off(60), off(64),
                                  mido.Message("control_change", control=123, value=0)]


@pytest.mark.parametrize("mode", ["steady", "live"])
def test_a_recording_keeps_the_performance_timeline_in_both_modes(mode: str, tmp_path) -> None:  # noqa: ANN001
    """The .mid sink writes each note at its device time, whatever the playout moved."""
    clock = VirtualClock()
    path = tmp_path / f"{mode}.mid"
    events = [(0.0, on(60)), (0.1, off(60)), (0.2, on(62)), (0.35, off(62))]
    with MidiFileSink(path, clock=clock) as sink:
        sched = PlayoutScheduler(sink, latency_s=L if mode == "live" else 0.4, clock=clock,
                                 mode=mode)
        t0 = sched.start()
        hop(sched, clock, t0, 0.3, events)
        sched.drain()
    ticks, at = [], 0
    for msg in mido.MidiFile(path).tracks[0]:
        at += msg.time
        if msg.type in ("note_on", "note_off") and (msg.type == "note_on") == (msg.velocity > 0):
            ticks.append(at)
    assert ticks[:4] == [round(t * 960) for t, _ in events]
