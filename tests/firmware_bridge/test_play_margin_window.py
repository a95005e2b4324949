"""The auto margin over a window of hops follows the jitter down again, and the playout lowers
its latency only as far as keeps every new event after every queued one (issue #20 part 3)."""

from __future__ import annotations

import mido
import pytest

from firmware_bridge.errors import BridgeError
from firmware_bridge.player.latency import AutoMargin
from firmware_bridge.playout import PlayoutScheduler, VirtualClock
from firmware_bridge.sinks import MemorySink


def test_a_windowed_margin_forgets_a_slow_hop_once_it_ages_out() -> None:
    auto = AutoMargin(safety_s=0.03, window=3)
    assert auto.observe(0.9) == pytest.approx(0.93)  # QEMU's first-transfer stall, say
    assert auto.observe(0.05) == pytest.approx(0.93)  # still in the window: the largest of 2
    assert auto.observe(0.04) == pytest.approx(0.93)
    assert auto.observe(0.06) == pytest.approx(0.09)  # aged out: the largest of the last 3
    assert auto.observe(0.2) == pytest.approx(0.23)  # and back up at once
    unbounded = AutoMargin(safety_s=0.03)
    assert [round(unbounded.observe(x), 6) for x in (0.9, 0.05, 0.04, 0.06)] == [0.93] * 4
    with pytest.raises(BridgeError, match="at least 1 hop, found 0"):
        AutoMargin(window=0)


def test_lowering_the_latency_keeps_new_events_after_the_queued_ones() -> None:
    clock = VirtualClock()
    sink = MemorySink()
    with PlayoutScheduler(sink, latency_s=1.0, clock=clock) as playout:
        playout.start(0.0)
        playout.submit(0.15, mido.Message("note_off", note=60))  # hop 0's last event: due 1.15
        # hop 1 starts at 0.2: a 0.3 s latency would put its events at 0.5, before that
        # note-off; the latency only goes down to 1.15 - 0.2 = 0.95
        assert playout.retarget_latency(0.3, from_device_time_s=0.2) == pytest.approx(0.95)
        playout.submit(0.2, mido.Message("note_on", note=60, velocity=90))
        clock.advance(2.0)
        playout.play_due()
        assert [x.type for x in sink.messages] == ["note_off", "note_on"]
        # queued events past the new hop's time at the current latency: no lowering at all
        # (never a raise either: 0.95 + 3.0 - 0.4 would be)
        playout.submit(3.0, mido.Message("note_off", note=64))
        assert playout.retarget_latency(0.3, from_device_time_s=0.4) == pytest.approx(0.95)
        clock.advance(5.0)
        playout.play_due()
        # with nothing queued it goes all the way down; raising is always allowed
        assert playout.retarget_latency(0.3, from_device_time_s=1.0) == pytest.approx(0.3)
        assert playout.retarget_latency(0.5, from_device_time_s=1.2) == pytest.approx(0.5)
