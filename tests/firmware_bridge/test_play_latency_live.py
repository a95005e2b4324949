"""The 216 MHz estimate of live playout (issue #20 part 3), checked by hand.

Hops of 4 frames at 22 fps whose board answer is short (a 10 ms encoder run, 2 tokens + EOS at
10 ms a step, the link at 115200 baud): the board keeps up, so a hop's answer arrives
``A = UP + 0.04 s + DOWN`` after its last frame, i.e. ``need = A - 1/22`` after the hop's end
(negative: the last frame's own period covers most of it). One note per hop, at hop position
``k % 4``, half a frame past its frame. Steady playout plays every note one hop + margin after
its time (one offset for all: no jitter); live playout at ``max(arrival, time + L)`` with
``L`` = the margin alone: a note early in its hop sounds on arrival, one late in it at time + L.
"""

from __future__ import annotations

import dataclasses

import pytest

from firmware_bridge.player.budget import motion_to_sound, motion_to_sound_dict
from firmware_bridge.player.hops import Hop
from firmware_bridge.player.latency import AUTO_SAFETY_S, NoteTiming, percentile
from firmware_bridge.player.stream import StreamProgress, StreamResult
from firmware_bridge.protocol import messages as m

FPS, HOP, N = 22.0, 4, 8
E, D = 2.16e6, 2.16e6  # 10 ms per encoder run and per decoder step at 216 MHz
TOKENS = (1, 2)
UP = 209 * 10 / 115200  # one KEYPOINTS frame on the wire (test_play_latency.py's count)


def _result(mode: str) -> StreamResult:
    hello = m.Hello(protocol_version=1, max_payload=512, rx_window=4, model_hash=1, vocab_hash=2,
                    flash_budget=1 << 20, sram_budget=320 << 10, n_joints=65, n_channels=3,
                    input_scale=1 / 127, input_zero_point=0, fps=FPS, hop=HOP,
                    context_frames=44, input_frame=0, fw_version="t", board="qemu-m7")
    stats = m.Stats(frames_rx=0, frames_bad=0, keypoints_rx=HOP * N, tokens_tx=2 * N,
                    enc_runs=N, enc_instr_total=int(N * E), enc_instr_last=int(E),
                    dec_tokens=3 * N, dec_instr_total=int(3 * N * D), dec_instr_last=int(D),
                    stack_hwm=0, stack_size=0, arena_hwm=0, arena_size=0, guard_broken=0,
                    counter_kind=0, ack_seq=0, rx_pending=0, time_us=0)
    hops = tuple(Hop(0, k, k * HOP / FPS, TOKENS, 0.0, HOP * k) for k in range(N))
    notes = tuple(NoteTiming(hop=k, note=60, time_s=(HOP * k + k % HOP + 0.5) / FPS,
                             frame=HOP * k + k % HOP, hop_frame=k % HOP, frame_at_s=0.0,
                             hop_sent_s=0.0, received_s=0.0, handed_s=0.0) for k in range(N))
    return StreamResult(hello, hops, stats, StreamProgress(), 0.0, notes=notes, margin_auto=True,
                        playout_mode=mode)


def test_live_estimate_plays_on_arrival_or_at_time_plus_the_margin() -> None:
    steady, live = motion_to_sound(_result("steady")), motion_to_sound(_result("live"))
    fs, fl = steady.estimated, live.estimated
    answer = fl.per_note[0].encoder_s + fl.per_note[0].decoder_s + fl.per_note[0].serial_s
    assert answer == pytest.approx(0.01 + 0.03 + fl.per_note[0].serial_s)
    need = answer - 1 / FPS  # arrival - the hop's end: the board keeps up
    assert fs.margin_s == fl.margin_s == pytest.approx(max(0.0, need) + AUTO_SAFETY_S)
    margin = fl.margin_s
    for k, (bs, bl) in enumerate(zip(fs.per_note, fl.per_note, strict=True)):
        p = k % HOP
        arrival_after_frame = (HOP - 1 - p) / FPS + answer  # from the onset frame's start
        assert bl.hop_wait_s == bs.hop_wait_s == pytest.approx((HOP - 1 - p) / FPS)
        # steady: one hop + margin after the note's time (half a frame past its frame)
        assert bs.total_s == pytest.approx(0.5 / FPS + HOP / FPS + margin)
        # live: on arrival, or at time + margin when that is later
        assert bl.total_s == pytest.approx(max(arrival_after_frame, 0.5 / FPS + margin))
        assert fl.offsets_s[k] == pytest.approx(bl.total_s - 0.5 / FPS)
    assert fs.jitter_s == (pytest.approx(0.0), pytest.approx(0.0))
    offsets = [max((HOP - 1 - k % HOP) / FPS + answer - 0.5 / FPS, margin) for k in range(N)]
    mid = percentile(offsets, 50)
    dev = [abs(o - mid) for o in offsets]
    assert fl.jitter_s == (pytest.approx(percentile(dev, 50)), pytest.approx(percentile(dev, 95)))
    assert fl.jitter_s[1] > 1 / FPS  # notes move against each other by frames
    assert fl.median_s < fs.median_s - 1.5 / FPS
    doc = motion_to_sound_dict(live)
    assert doc["playout"] == "live" and motion_to_sound_dict(steady)["playout"] == "steady"
    assert doc["estimated"]["jitter_s"]["p95_s"] == pytest.approx(fl.jitter_s[1])


def test_measured_offsets_are_handed_minus_the_notes_own_moment() -> None:
    """Measured basis: the offset is the hand-over minus the note's moment (its frame's moment
    + its time past the frame), so a live note handed at its own time + 30 ms has offset 30 ms."""
    res = dataclasses.replace(_result("live"), real_time=True, notes=tuple(
        dataclasses.replace(n, frame_at_s=100.0 + n.frame / FPS, hop_sent_s=100.0 + (n.frame + 1) / FPS,
                            received_s=100.0 + (n.frame + 1) / FPS,
                            handed_s=100.0 + n.time_s + 0.03 + 0.01 * (n.hop % 2))
        for n in _result("live").notes))
    fig = motion_to_sound(res).measured
    assert fig is not None
    assert fig.offsets_s == pytest.approx([0.03 + 0.01 * (k % 2) for k in range(N)])
    assert fig.jitter_s == (pytest.approx(0.005), pytest.approx(0.005))


def test_live_auto_l_covers_the_median_answer_delay_not_the_slow_hops() -> None:
    """Live 'auto' L: the median answer delay + the safety (a stall plays on arrival instead of
    delaying every note); steady keeps the 95th percentile."""
    from firmware_bridge.player.latency import LIVE_PERCENTILE, AutoMargin

    live, steady = AutoMargin(window=32, q=LIVE_PERCENTILE), AutoMargin(window=32)
    for need in (0.05, 0.06, 1.5, 0.04, 0.07):
        live.observe(need)
        steady.observe(need)
    assert live.margin_s == pytest.approx(0.06 + AUTO_SAFETY_S)
    assert steady.margin_s == pytest.approx(1.5 + AUTO_SAFETY_S)
