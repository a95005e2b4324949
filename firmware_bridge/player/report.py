"""The numbers a board run is judged by, computed once and printed or saved as JSON.

:func:`board_numbers` takes a build's :class:`SizeReport` and a stream's :class:`StreamResult`
and derives:

* memory: flash and SRAM (static + stack reserve) with their budgets, arena, persistent state,
  static stack bound — straight from size.json;
* compute: instructions per encoder hop and per decoder token, the device's own counts (STATS;
  on QEMU with ``-icount`` these are executed instructions, exact and repeatable);
* real-time factor at ``clock_hz`` (216 MHz, the STM32F746) for ``tokens_per_s`` (85, the
  Foley Music event rate): the instructions one second of music needs — ``hops_per_s`` encoder
  runs (``fps / hop`` from HELLO) plus ``tokens_per_s`` decoder steps — over the instructions
  the clock gives in one second. It assumes one instruction per cycle (Cortex-M7 dual issue
  can beat it, flash wait states and cache misses can lose to it); < 1 keeps up with real time;
* host-measured end-to-end latency: per hop, frame that completes the hop sent -> its last
  EVENTS part received (median and max). On QEMU this is emulation speed, not board speed;
* motion-to-sound latency per note-on (:mod:`firmware_bridge.player.budget`): median and 95th
  percentile measured on the host clock (real-time streams only) and estimated for the
  STM32F746 at 216 MHz from the counts, the link's baud and the hop.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware_bridge.build import SizeReport
from firmware_bridge.player.budget import motion_to_sound
from firmware_bridge.player.stream import StreamResult

CLOCK_HZ = 216e6  # STM32F746 (Cortex-M7) core clock
TOKENS_PER_S = 85.0  # event rate the decoder must sustain (Foley Music's token rate)
KIB = 1024


@dataclass(frozen=True)
class BoardNumbers:
    """Size, compute and latency of one firmware image on one stream."""

    board: str  # board name
    flash_bytes: int  # code + constants + .data initialisers
    flash_budget: int  # the board's flash
    sram_bytes: int  # static SRAM + reserved stack
    sram_budget: int  # the board's SRAM
    stack_reserved_bytes: int  # stack the linker script reserves
    stack_bound_bytes: int  # static worst-case stack (call graph)
    arena_bytes: int  # model scratch arena
    persistent_bytes: int  # state kept across hops (window, KV caches)
    encoder_instr_per_hop: float  # device instructions per encoder run
    decoder_instr_per_token: float  # device instructions per decoder step
    hops_per_s: float  # encoder runs per second of music (fps / hop)
    rtf: float  # compute time per second of music at clock_hz (< 1: real time)
    clock_hz: float  # clock the RTF assumes
    tokens_per_s: float  # token rate the RTF assumes
    latency_median_s: float | None  # host-measured frame -> events latency, median over hops
    latency_max_s: float | None  # the same, worst hop
    hops: int  # hops received
    tokens: int  # tokens received
    late_events: int = 0  # MIDI events the playout got after their due time (played at once)
    motion_median_s: float | None = None  # motion-to-sound, median over note-ons (host clock)
    motion_p95_s: float | None = None  # the same, 95th percentile (None: unpaced, not measured)
    motion_notes: int = 0  # note-ons timed
    motion_est_median_s: float | None = None  # motion-to-sound estimated for the F746 at 216 MHz
    motion_est_p95_s: float | None = None  # the same estimate, 95th percentile
    playout_latency_s: float = 0.0  # playout latency at the end: one hop + the margin
    margin_auto: bool = False  # the margin was 'auto' (from the measured answer delays)
    estimate_board: str = "stm32f746-disco"  # the real board clock_hz and the estimate are for


def real_time_factor(enc_per_hop: float, dec_per_token: float, hops_per_s: float, *,
                     clock_hz: float = CLOCK_HZ, tokens_per_s: float = TOKENS_PER_S) -> float:
    """Seconds of compute per second of music at ``clock_hz`` (1 instruction per cycle)."""
    return (enc_per_hop * hops_per_s + dec_per_token * tokens_per_s) / clock_hz


def board_numbers(size: SizeReport, res: StreamResult, *,
                  tokens_per_s: float = TOKENS_PER_S) -> BoardNumbers:
    """The :class:`BoardNumbers` of a build and a stream (module doc), at the clock of the real
    board the built board stands for (216 MHz STM32F746, 100 MHz STM32F411)."""
    from firmware_bridge.player.budget import reference_board

    real, clock_hz = reference_board(size.board)
    s, p, hello = res.stats, res.progress, res.hello
    enc = s.enc_instr_total / s.enc_runs if s.enc_runs else 0.0
    dec = s.dec_instr_total / s.dec_tokens if s.dec_tokens else 0.0
    hops_per_s = hello.fps / hello.hop if hello.hop else 0.0
    lat = sorted(p.latencies_s)
    return BoardNumbers(
        board=size.board, flash_bytes=size.flash_bytes, flash_budget=size.flash_budget,
        sram_bytes=size.sram_bytes, sram_budget=size.sram_budget,
        stack_reserved_bytes=size.stack_reserved_bytes, stack_bound_bytes=size.stack_bound_bytes,
        arena_bytes=size.arena_bytes, persistent_bytes=size.persistent_bytes,
        encoder_instr_per_hop=enc, decoder_instr_per_token=dec, hops_per_s=hops_per_s,
        rtf=real_time_factor(enc, dec, hops_per_s, clock_hz=clock_hz, tokens_per_s=tokens_per_s),
        clock_hz=clock_hz, tokens_per_s=tokens_per_s,
        latency_median_s=lat[len(lat) // 2] if lat else None,
        latency_max_s=lat[-1] if lat else None,
        hops=p.hops, tokens=p.events, late_events=p.late, **_motion_fields(res),
        estimate_board=real,
    )  # fmt: skip


def _motion_fields(res: StreamResult) -> dict[str, object]:
    mts = motion_to_sound(res)
    meas, est = mts.measured, mts.estimated
    return {
        "motion_median_s": meas.median_s if meas else None,
        "motion_p95_s": meas.p95_s if meas else None,
        "motion_notes": est.notes, "motion_est_median_s": est.median_s,
        "motion_est_p95_s": est.p95_s, "playout_latency_s": mts.playout_latency_s,
        "margin_auto": mts.margin_auto,
    }  # fmt: skip


def size_lines(n: BoardNumbers) -> list[str]:
    """The size report, one figure per line."""
    return [
        f"flash      {n.flash_bytes / KIB:8.1f} KiB of {n.flash_budget / KIB:.0f} KiB "
        f"({100 * n.flash_bytes / n.flash_budget:.0f}%)",
        f"SRAM       {n.sram_bytes / KIB:8.1f} KiB of {n.sram_budget / KIB:.0f} KiB "
        f"({100 * n.sram_bytes / n.sram_budget:.0f}%)",
        f"  arena    {n.arena_bytes / KIB:8.1f} KiB  (model scratch, planned offline)",
        f"  persist  {n.persistent_bytes / KIB:8.1f} KiB  (window + KV caches across hops)",
        f"  stack    {n.stack_reserved_bytes / KIB:8.1f} KiB reserved, "
        + (f"static bound {n.stack_bound_bytes} B" if n.stack_bound_bytes else
           "no static bound (TFLite Micro: calls through pointers)"),
    ]


def _ms(t: float | None) -> str:
    return "n/a" if t is None else f"{1e3 * t:.0f} ms"


def latency_lines(n: BoardNumbers) -> list[str]:
    """The latency report: device instructions, real-time factor, host latency."""
    mhz = n.clock_hz / 1e6
    verdict = "keeps up with real time" if n.rtf < 1 else "SLOWER than real time"
    measured = _motion(n.motion_median_s, n.motion_p95_s, "measured (host clock)",
                       "not measured (unpaced: no real time)")
    estimated = _motion(n.motion_est_median_s, n.motion_est_p95_s,
                        f"estimated for the {n.estimate_board} at {mhz:.0f} MHz", "no estimate")
    return [
        f"encoder    {n.encoder_instr_per_hop:14,.0f} instructions per hop "
        f"({n.encoder_instr_per_hop / n.clock_hz * 1e3:.1f} ms at {mhz:.0f} MHz)",
        f"decoder    {n.decoder_instr_per_token:14,.0f} instructions per token "
        f"({n.decoder_instr_per_token / n.clock_hz * 1e3:.2f} ms at {mhz:.0f} MHz)",
        f"RTF        {n.rtf:.3f} at {mhz:.0f} MHz for {n.tokens_per_s:g} tokens/s + "
        f"{n.hops_per_s:.2f} hops/s (1 instruction/cycle): {verdict}",
        f"latency    {_ms(n.latency_median_s)} median, {_ms(n.latency_max_s)} max over "
        f"{n.hops} hops (host-measured, frame sent -> events received, emulated board)",
        f"playout    {n.late_events} MIDI events late (played on arrival instead of on time), "
        f"latency {_ms(n.playout_latency_s)} ({'auto' if n.margin_auto else 'fixed'} margin)",
        f"motion->sound  {measured}; {estimated}; over {n.motion_notes} note-ons",
    ]


def _motion(median: float | None, p95: float | None, basis: str, missing: str) -> str:
    if median is None or p95 is None:
        return missing
    return f"median {_ms(median)}, p95 {_ms(p95)} {basis}"
