"""The 216 MHz estimate with short hops (issue #20): the board as one queue, checked by hand.

Hops of 4 frames at 22 fps (0.1818 s) whose compute takes 0.2 s at 216 MHz (a 21.6 M
instruction encoder run, 0.1 s, and 9 tokens + the EOS step of 2.16 M each, 0.1 s, then its
answer on the 115200-baud link): the board falls 0.2 + 7.2 ms - 4/22 s further behind every hop, and the estimate must say so (the hop's frames wait
for the board: hop wait), where a board that keeps up (the existing hand-made 1-s-hop stream of
test_play_latency.py) waits for nothing.
"""

from __future__ import annotations

import pytest

from firmware_bridge.player.budget import board_timeline, estimated
from firmware_bridge.player.hops import Hop
from firmware_bridge.player.latency import AUTO_SAFETY_S, NoteTiming
from firmware_bridge.player.stream import StreamProgress, StreamResult
from firmware_bridge.protocol import messages as m

FPS, HOP = 22.0, 4
E, D = 21.6e6, 2.16e6  # 0.1 s per encoder run, 10 ms per decoder step at 216 MHz
TOKENS = (1,) * 9
UP = 209 * 10 / 115200  # one KEYPOINTS frame on the wire (test_play_latency.py's count)
DOWN = (18 + 65) * 10 / 115200  # CREDIT + EVENTS of 9 tokens
LAG = 0.2 + DOWN - HOP / FPS  # how much further behind each hop leaves the board (its UART
# writes are polled: the core is busy until the answer is out)


def _result(sessions: tuple[int, ...] = (0, 0, 0)) -> StreamResult:
    hello = m.Hello(protocol_version=1, max_payload=512, rx_window=4, model_hash=1, vocab_hash=2,
                    flash_budget=1 << 20, sram_budget=320 << 10, n_joints=65, n_channels=3,
                    input_scale=1 / 127, input_zero_point=0, fps=FPS, hop=HOP,
                    context_frames=44, input_frame=0, fw_version="t", board="qemu-m7")
    n = len(sessions)
    stats = m.Stats(frames_rx=0, frames_bad=0, keypoints_rx=4 * n, tokens_tx=9 * n, enc_runs=n,
                    enc_instr_total=int(n * E), enc_instr_last=int(E), dec_tokens=10 * n,
                    dec_instr_total=int(10 * n * D), dec_instr_last=int(D), stack_hwm=0,
                    stack_size=0, arena_hwm=0, arena_size=0, guard_broken=0, counter_kind=0,
                    ack_seq=0, rx_pending=0, time_us=0)
    hops = tuple(Hop(s, k, k * HOP / FPS, TOKENS, 0.0, HOP * k) for k, s in enumerate(sessions))
    # one onset at the first frame of each hop
    notes = tuple(NoteTiming(hop=k, note=60, time_s=k * HOP / FPS, frame=HOP * k, hop_frame=0,
                             frame_at_s=0.0, hop_sent_s=0.0, received_s=0.0, handed_s=0.0)
                  for k in range(n))
    return StreamResult(hello, hops, stats, StreamProgress(), 0.0, notes=notes, margin_auto=True)


def test_a_board_slower_than_the_hops_falls_behind_hop_by_hop() -> None:
    timeline = board_timeline(_result(), clock_hz=216e6, baud=115200)
    for k, t in enumerate(timeline):
        assert t.end_s == pytest.approx((k + 1) * HOP / FPS)
        assert t.queued_s == pytest.approx(k * LAG)
        assert (t.encoder_s, t.decoder_s) == (pytest.approx(0.1), pytest.approx(0.1))
        assert t.serial_s == pytest.approx(UP + DOWN)
        # last frame at end - 1/22, in after UP, waits, 0.2 s of compute, the answer down
        assert t.arrival_s == pytest.approx(t.end_s - 1 / FPS + UP + k * LAG + 0.2 + DOWN)
    fig = estimated(_result())
    needs = [t.arrival_s - t.end_s for t in timeline]
    assert fig.margin_s == pytest.approx(max(needs) + AUTO_SAFETY_S)  # 3 hops: the largest
    for k, b in enumerate(fig.per_note):
        assert b.hop_wait_s == pytest.approx(3 / FPS + k * LAG)  # the rest of the hop + the queue
        due = k * HOP / FPS + HOP / FPS + fig.margin_s
        assert b.total_s == pytest.approx(max(due, timeline[k].arrival_s) - k * HOP / FPS)


def test_a_restarted_device_starts_with_an_empty_queue() -> None:
    timeline = board_timeline(_result((0, 0, 1)), clock_hz=216e6, baud=115200)
    assert [t.queued_s for t in timeline] == [0.0, pytest.approx(LAG), 0.0]


def test_a_fast_enough_board_queues_nothing() -> None:
    timeline = board_timeline(_result(), clock_hz=2 * 216e6, baud=115200)  # 0.11 s per hop
    assert all(t.queued_s == 0.0 for t in timeline)
