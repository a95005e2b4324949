"""Motion-to-sound latency (issue #20 part 3), checked by arithmetic, not by the wall clock.

A hand-made stream of two hops (22 frames at 22 fps; 9 and 19 tokens; 21.6 M instructions per
encoder run and 216,000 per decoder step: 0.1 s and 1 ms at 216 MHz) and two note-ons with
chosen host-clock moments: the measured budget, the 216 MHz estimate (wire bytes counted by
hand from the protocol's layouts), the percentiles, the auto margin and ``play --json``.
"""

from __future__ import annotations

import mido
import pytest

from firmware_bridge.errors import BridgeError
from firmware_bridge.player.budget import (
    estimated,
    measured,
    motion_to_sound,
    wire_bytes_down,
    wire_bytes_up,
)
from firmware_bridge.player.cli import parse_latency, play_json, summary
from firmware_bridge.player.hops import Hop
from firmware_bridge.player.latency import (
    AUTO_SAFETY_S,
    AutoMargin,
    NoteTiming,
    auto_margin,
    nearest_rank,
    onset_frame,
    percentile,
)
from firmware_bridge.player.stream import StreamProgress, StreamResult
from firmware_bridge.playout import PlayoutScheduler, VirtualClock
from firmware_bridge.protocol import messages as m
from firmware_bridge.sinks import MemorySink

FPS, HOP = 22.0, 22
E, D = 21.6e6, 216_000.0  # per encoder run, per decoder step: 0.1 s and 1 ms at 216 MHz
TOKENS = ((1,) * 9, (1,) * 19)  # tokens of hop 0 and hop 1
T0 = 10.0  # host clock of frame 0
# wire bytes, by the protocol's layouts: header 6 + payload + CRC 2, COBS +1, delimiter +1
UP = 6 + (4 + 65 * 3) + 2 + 1 + 1  # one KEYPOINTS frame: 209
CREDIT = 6 + 8 + 2 + 1 + 1  # 18
EVENTS_9 = 6 + 10 + 9 * 5 + 2 + 1 + 1  # 65
EVENTS_19 = 6 + 10 + 19 * 5 + 2 + 1 + 1  # 115


def _hello() -> m.Hello:
    return m.Hello(protocol_version=1, max_payload=512, rx_window=4, model_hash=1, vocab_hash=2,
                   flash_budget=1 << 20, sram_budget=320 << 10, n_joints=65, n_channels=3,
                   input_scale=1 / 127, input_zero_point=0, fps=FPS, hop=HOP, context_frames=44,
                   input_frame=0, fw_version="t", board="qemu-m7")


def _stats() -> m.Stats:
    steps = sum(len(t) + 1 for t in TOKENS)  # each hop: its tokens + the step emitting EOS
    return m.Stats(frames_rx=0, frames_bad=0, keypoints_rx=44, tokens_tx=28, enc_runs=2,
                   enc_instr_total=int(2 * E), enc_instr_last=int(E), dec_tokens=steps,
                   dec_instr_total=int(steps * D), dec_instr_last=int(D), stack_hwm=0,
                   stack_size=0, arena_hwm=0, arena_size=0, guard_broken=0, counter_kind=0,
                   ack_seq=0, rx_pending=0, time_us=0)


NOTES = (
    # hop 0, onset at its first frame; hop's last frame sent at +0.95, events in +0.22 later
    NoteTiming(hop=0, note=60, time_s=0.0, frame=0, hop_frame=0, frame_at_s=T0,
               hop_sent_s=T0 + 0.95, received_s=T0 + 1.17, handed_s=T0 + 1.5),
    # hop 1, onset 10 ms after frame 33 (position 11 in its hop)
    NoteTiming(hop=1, note=64, time_s=1.51, frame=33, hop_frame=11, frame_at_s=T0 + 1.5,
               hop_sent_s=T0 + 1.96, received_s=T0 + 2.2, handed_s=T0 + 2.65),
)


def _result(*, real_time: bool = True, url: str = "socket://127.0.0.1:1") -> StreamResult:
    hops = tuple(Hop(0, k, float(k), TOKENS[k], T0 + 1.17 + k * 1.03, HOP * k) for k in (0, 1))
    return StreamResult(_hello(), hops, _stats(), StreamProgress(latencies_s=[0.22, 0.24]), 1.134,
                        notes=NOTES, margin_auto=True, answer_delays_s=(0.1, 0.104),
                        link_url=url, real_time=real_time)


def test_wire_bytes_follow_the_protocol_layouts() -> None:
    assert wire_bytes_up() == UP == 209
    assert wire_bytes_down(TOKENS[0]) == CREDIT + EVENTS_9 == 83
    assert wire_bytes_down(()) == CREDIT + 6 + 10 + 2 + 1 + 1  # one empty EVENTS all the same
    assert wire_bytes_down((1,) * 101) == CREDIT + (6 + 10 + 500 + 2 + 2) + (6 + 10 + 5 + 2 + 2)


def test_percentiles_of_a_known_list() -> None:
    xs = [4.0, 1.0, 3.0, 2.0]
    assert percentile(xs, 50) == pytest.approx(2.5)
    assert percentile(xs, 95) == pytest.approx(3.85)  # 3 + 0.85 * (4 - 3)
    assert percentile(xs, 0) == 1.0 and percentile(xs, 100) == 4.0
    assert nearest_rank(list(range(1, 11)), 95) == 10  # below 20 values: the largest
    assert nearest_rank(list(range(1, 21)), 95) == 19
    with pytest.raises(BridgeError, match="expected at least one"):
        percentile([], 50)
    with pytest.raises(BridgeError, match=r"\[0, 100\], found 101"):
        percentile(xs, 101)


def test_auto_margin_covers_the_slow_answers_and_never_shrinks() -> None:
    assert auto_margin([]) == AUTO_SAFETY_S
    assert auto_margin([-0.5, -0.2]) == AUTO_SAFETY_S  # answers before the hop's end: no wait
    assert auto_margin([0.1, 0.3, 0.2], safety_s=0.05) == pytest.approx(0.35)
    auto = AutoMargin(safety_s=0.05)
    assert auto.observe(0.3) == pytest.approx(0.35)
    assert auto.observe(0.1) == pytest.approx(0.35)  # a faster hop never lowers it
    assert auto.observe(0.4) == pytest.approx(0.45)
    assert auto.needs == [0.3, 0.1, 0.4]


def test_onset_frame_is_the_latest_frame_at_or_before_the_onset_within_its_hop() -> None:
    assert onset_frame(0.5, 22.0, 0, 22) == 11
    assert onset_frame(0.52, 22.0, 0, 22) == 11
    assert onset_frame(1.51, 22.0, 22, 22) == 33
    assert onset_frame(2.5, 22.0, 22, 22) == 43  # past the hop's end: its last frame
    assert onset_frame(0.9, 22.0, 22, 22) == 22  # before its start: its first frame


def test_measured_budget_sums_to_each_notes_latency() -> None:
    fig = measured(_result())
    assert fig is not None and fig.notes == 2
    a, b = fig.per_note
    assert a.hop_wait_s == pytest.approx(0.95) and a.playout_s == pytest.approx(0.33)
    # answer 0.22 s split by counts: E / (E + 10 D) = 10/11 encoder; QEMU's socket: no serial
    assert a.encoder_s == pytest.approx(0.2) and a.decoder_s == pytest.approx(0.02)
    assert a.serial_s == 0.0
    for budget, note in zip(fig.per_note, NOTES, strict=True):
        assert budget.total_s == pytest.approx(note.handed_s - note.frame_at_s)
    assert (a.total_s, b.total_s) == (pytest.approx(1.5), pytest.approx(1.15))
    assert fig.median_s == pytest.approx(1.325) and fig.p95_s == pytest.approx(1.4825)
    mean = fig.mean
    assert mean is not None and mean.total_s == pytest.approx((1.5 + 1.15) / 2)
    assert fig.margin_s == pytest.approx(1.134 - 1.0)


def test_measured_on_a_serial_port_counts_its_bytes_at_115200_baud() -> None:
    a = measured(_result(url="/dev/ttyACM0")).per_note[0]  # type: ignore[union-attr]
    serial = (UP + CREDIT + EVENTS_9) * 10 / 115200
    assert a.serial_s == pytest.approx(serial)
    assert a.encoder_s == pytest.approx((0.22 - serial) * 10 / 11)
    assert a.total_s == pytest.approx(1.5)


def test_unpaced_run_has_no_measured_figure_but_an_estimate() -> None:
    mts = motion_to_sound(_result(real_time=False))
    assert mts.measured is None and mts.estimated.notes == 2


def test_estimate_for_216_mhz_from_instruction_counts_by_hand() -> None:
    fig = estimated(_result())
    s0 = (UP + CREDIT + EVENTS_9) * 10 / 115200
    s1 = (UP + CREDIT + EVENTS_19) * 10 / 115200
    answers = (0.1 + 10 * 0.001 + s0, 0.1 + 20 * 0.001 + s1)
    margin = max(a - 1 / 22 for a in answers) + AUTO_SAFETY_S  # p95 of 2 hops: the larger
    assert fig.margin_s == pytest.approx(margin)
    a, b = fig.per_note
    assert (a.hop_wait_s, a.encoder_s, a.decoder_s, a.serial_s) == (
        pytest.approx(21 / 22), pytest.approx(0.1), pytest.approx(0.01), pytest.approx(s0))
    assert a.total_s == pytest.approx(0.0 + 1.0 + margin - 0 / 22)  # plays hop + margin later
    assert a.playout_s == pytest.approx(1.0 + margin - 21 / 22 - answers[0])
    assert (b.hop_wait_s, b.decoder_s, b.serial_s) == (
        pytest.approx(10 / 22), pytest.approx(0.02), pytest.approx(s1))
    assert b.total_s == pytest.approx(1.51 + 1.0 + margin - 33 / 22)
    assert "stm32f746-disco at 216 MHz" in fig.basis


def test_the_estimate_is_for_the_real_board_the_emulated_one_stands_for() -> None:
    from dataclasses import replace

    res = _result()
    f411 = motion_to_sound(replace(res, hello=replace(res.hello, board="qemu-f411"))).estimated
    assert "nucleo-f411re at 100 MHz" in f411.basis
    assert f411.per_note[0].encoder_s == pytest.approx(E / 100e6)  # 0.216 s: 2.16x the F746's
    assert "stm32f746-disco at 216 MHz" in motion_to_sound(res).estimated.basis


def test_play_json_and_summary_carry_the_latency_figures() -> None:
    res = _result()
    doc = play_json(res)
    mts = doc["motion_to_sound"]
    assert mts["margin"] == "auto" and mts["hop_s"] == 1.0
    for basis in ("measured", "estimated"):
        fig = mts[basis]
        assert set(fig) >= {"basis", "notes", "median_s", "p95_s", "margin_s", "mean_s",
                            "per_note_s"}
        assert fig["notes"] == len(fig["per_note_s"]) == 2
        assert set(fig["mean_s"]) == {"hop_wait_s", "encoder_s", "decoder_s", "serial_s",
                                      "playout_s", "total_s"}
    assert mts["measured"]["median_s"] == pytest.approx(1.325)
    assert doc["answer_delays_s"] == [0.1, 0.104]
    text = summary(res)
    assert "motion->sound  median 1,325 ms, p95 1,48" in text and "over 2 notes" in text
    assert "mean budget, ms" in text and "estimate" in text


def test_parse_latency_auto_or_seconds() -> None:
    assert parse_latency("auto") is None and parse_latency("AUTO") is None
    assert parse_latency("0.25") == 0.25
    with pytest.raises(BridgeError, match="expected 'auto' or seconds >= 0, found 'soon'"):
        parse_latency("soon")
    with pytest.raises(BridgeError, match="found -1.0"):
        parse_latency("-1")


def test_raised_latency_keeps_order_and_tells_on_play_with_the_tag() -> None:
    clock = VirtualClock()
    sink = MemorySink(clock=clock)
    played: list[tuple[float, str, object]] = []
    with sink, PlayoutScheduler(sink, latency_s=1.0, clock=clock,
                                on_play=lambda t, msg, tag: played.append((t, msg.type, tag))) as s:
        s.start()
        s.submit(0.5, mido.Message("note_on", note=60, velocity=90), tag=0)
        s.submit(1.0, mido.Message("note_off", note=60), tag=0)
        s.raise_latency(1.3)
        s.raise_latency(0.2)  # never lowers
        assert s.latency_s == 1.3
        s.submit(1.0, mido.Message("note_on", note=60, velocity=90), tag=1)  # next hop, same pitch
        s.drain()
        assert [(m.type, t) for t, m in sink.events] == [
            ("note_on", 1.5), ("note_off", 2.0), ("note_on", 2.3)]
    assert [tag for _, _, tag in played] == [0, 0, 1]
    assert not sink.held_notes
