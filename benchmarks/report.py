"""results.md: the tables the README quotes, each stating the command that produced it.

The on-board, per-operator and streamed tables set ours beside TFLite Micro + CMSIS-NN on the same board
(ratios ours / TFLM); every other table is ours alone or against the tflite-micro wheel."""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks.peer import RUNTIME as PEER
from benchmarks.runner import OURS, REFERENCE_BOARD, BenchResults
from benchmarks.scaling import AXES
from benchmarks.stream import MEASURED_HOPS, StreamRow

KB = 1024


def _kb(n: int) -> str:
    return f"{n / KB:.1f}" if n else "—"


def _table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    if not rows:
        return ["Not run in this invocation (see the command above, and 'Not available')."]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out


PEER_SECTION = "On the board: ours vs TFLite Micro + CMSIS-NN"
OPS_SECTION = "Per operator on the board: ours vs TFLite Micro + CMSIS-NN"
STREAM_SECTION = "Streaming encoder: instructions per frame and SRAM"
STREAM_HEADLINE = "Streamed:"
"""First word of the streaming section's headline paragraph (the README's line)."""


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.2f}" if a and b else "—"


def _peer(res: BenchResults, command: str) -> list[str]:
    by = {(r.name, r.board, r.runtime): r for r in res.rows}
    same = {(p.model, p.board): p.matches_wheel for p in res.peer}
    rows = []
    for name, board in dict.fromkeys((r.name, r.board) for r in res.rows):
        ours, peer = by.get((name, board, OURS)), by.get((name, board, PEER))
        rows.append((name, board,
                     f"{ours.instructions:,}" if ours else "—",
                     f"{peer.instructions:,}" if peer else "—",
                     _ratio(ours.instructions, peer.instructions) if ours and peer else "—",
                     _kb(ours.sram_bytes) if ours else "—", _kb(peer.sram_bytes) if peer else "—",
                     _ratio(ours.sram_bytes, peer.sram_bytes) if ours and peer else "—",
                     _kb(ours.flash_bytes) if ours else "—", _kb(peer.flash_bytes) if peer else "—",
                     _ratio(ours.flash_bytes, peer.flash_bytes) if ours and peer else "—",
                     {True: "yes", False: "**NO**"}.get(same.get((name, board)), "—")))
    return [f"## {PEER_SECTION}", "",
            f"Measured by `{command}`: both runtimes compiled with arm-none-eabi-gcc -O2 for the "
            "board's core, booted in QEMU with -icount shift=7, one instruction per tick. Ours: "
            "the generated C with the DSP (ACLE) kernels on the M4/M7 and the Helium (MVE) ones on "
            "the M55, one invoke; SRAM = the bench image's "
            ".data + .bss (arena, persistent area; not its per-operator tick table, 4 B an "
            "operator, which only the measurement has) + the stack bound; flash = the bench image. "
            "TFLite Micro + CMSIS-NN, built from the pinned sources (CMSIS-NN's Helium paths "
            "on the M55): the whole second Invoke(), interpreter included; SRAM = "
            "arena_used_bytes() on the board + its .data/.bss outside the arena (its stack not "
            "counted); flash = its bench image (model, interpreter, the kernels it links). "
            "Ratios are ours / TFLM: below 1 is better. QEMU counts every instruction as one "
            "tick, a Helium (MVE) instruction too: a real Cortex-M55 spends about two cycles "
            "on a 128-bit beat-wise vector instruction, so M55 counts flatter Helium code (both "
            "runtimes use it) by up to ~2x against real cycles. '= wheel': the peer's outputs on "
            "the board "
            "compared in this run, byte for byte, with the tflite-micro wheel's on the same "
            "seeded inputs (ours are checked against it by the tests). "
            "Float32 inputs and outputs (TinyEngine's MCUNet models: QUANTIZE first, DEQUANTIZE "
            "last; zeros on both sides) are counted in SRAM on both sides: ours as the caller's "
            "buffers the bench main hands to bench_set_input/_set_output (.bss), TFLM's as "
            "tensors in its arena (TinyEngine's published peaks and `foley-edge plan`'s arena "
            "leave them out on both sides instead; the models table gives their bytes). "
            "Bench images are linked over the memory QEMU maps (mps2: 4 MB flash, 16 MB PSRAM; "
            "mps3-an547: 8 MB flash, 16 MB DDR), not the real board's 1 MB / 320 KB: always for "
            "the peer, and for ours where a model is larger than the board ('emulator' in the "
            "models table above; instruction counts do not depend on the address).", "",
            *_table(("model", "board", "ours instr.", "TFLM+CMSIS-NN instr.", "instr. ours / TFLM",
                     "ours SRAM KB", "TFLM SRAM KB", "SRAM ours / TFLM", "ours flash KB",
                     "TFLM flash KB", "flash ours / TFLM", "TFLM = wheel"), rows), ""]


def _ops(res: BenchResults) -> list[str]:
    ours = {(r.model, r.board): r for r in res.board if r.kernels == "acle"}
    rows = []
    for p in res.peer:
        o = ours.get((p.model, p.board))
        if o is None or p.board != REFERENCE_BOARD:
            continue
        mine: dict[str, int] = {}
        theirs: dict[str, int] = {}
        for op in o.ops:
            mine[op.op] = mine.get(op.op, 0) + op.instructions
        for op in p.ops:
            theirs[op.op] = theirs.get(op.op, 0) + op.instructions
        for kind in sorted(set(mine) | set(theirs), key=lambda k: -theirs.get(k, 0)):
            a, b = mine.get(kind, 0), theirs.get(kind, 0)
            rows.append((p.model, kind, f"{a:,}", f"{b:,}", _ratio(a, b)))
    return [f"## {OPS_SECTION}", "",
            f"Instructions per operator type on {REFERENCE_BOARD}, summed over the model's "
            "operators (each runtime's own operators: ours may fuse or drop copies, e.g. "
            "RESHAPE views cost 0). The peer's per-operator counts come from a profiler "
            "attached to a second interpreter (its kernels only; the interpreter's own loop is "
            "in its total above). Bars: board_ops_*.png.", "",
            *_table(("model", "operator", "ours instr.", "TFLM+CMSIS-NN instr.", "ours / TFLM"),
                    rows), ""]


def _stream_headline(res: BenchResults) -> list[str]:
    """One paragraph: the streamed rows on the reference board, per frame against windowed and
    against TFLite Micro + CMSIS-NN streaming the same encoder (where measured)."""
    parts = []
    for r in res.stream:
        if r.board != REFERENCE_BOARD or not r.windowed_frame_instructions:
            continue
        text = (f"{r.name} on {r.board}: {r.frame_instructions:,} instructions per frame "
                f"against {r.windowed_frame_instructions:,} windowed ({r.frame_saving:.1f}x "
                f"fewer), SRAM {_kb(r.sram_bytes)} KB against {_kb(r.windowed_sram_bytes)} KB")
        if r.peer_hop_instructions:
            text += (f"; TFLite Micro + CMSIS-NN streaming the same encoder: "
                     f"{r.peer_frame_instructions:,} instructions per frame (ours / TFLM "
                     f"{r.hop_ratio:.2f}), SRAM {_kb(r.peer_sram_bytes)} KB (ours / TFLM "
                     f"{r.sram_ratio:.2f})")
        parts.append(text)
    return [f"{STREAM_HEADLINE} " + "; ".join(parts) + ".", ""] if parts else []


def _stream_cells(r: StreamRow) -> tuple[object, ...]:
    """One row of the streamed table."""
    peer = bool(r.peer_hop_instructions)
    return (r.name, r.board, r.hop_frames, f"{r.hop_instructions:,}",
            f"{r.peer_hop_instructions:,}" if peer else "—",
            f"{r.hop_ratio:.2f}" if peer else "—", f"{r.frame_instructions:,}",
            f"{r.peer_frame_instructions:,}" if peer else "—",
            f"{r.windowed_instructions:,}" if r.windowed_instructions else "—",
            r.windowed_hop_frames or "—",
            f"{r.windowed_frame_instructions:,}" if r.windowed_frame_instructions else "—",
            f"{r.frame_saving:.1f}x" if r.windowed_frame_instructions else "—",
            _kb(r.sram_bytes), _kb(r.peer_sram_bytes), f"{r.sram_ratio:.2f}" if peer else "—",
            _kb(r.windowed_sram_bytes), f"{r.state_bytes:,}", _kb(r.flash_bytes),
            _kb(r.peer_flash_bytes), _kb(r.windowed_flash_bytes))


def _stream(res: BenchResults) -> list[str]:
    warm = sorted({s.warmup_hops for s in res.stream_runs})
    return [f"## {STREAM_SECTION}", "", *_stream_headline(res),
            "The student's encoder streamed (issue #20): per hop of a few new frames only the "
            "rows they make new are computed, the rows later hops need kept in ring buffers in "
            "the persistent area (bit-exact with the windowed encoder after the warm-up, "
            "tests/export/test_stream_board.py). Same build and QEMU -icount counting as the "
            "on-board table; ours runs zero input bytes. Streamed per hop: the median over "
            f"{MEASURED_HOPS} hops after the warm-up ({', '.join(map(str, warm)) or '—'} hops "
            "from a reset), the shift of the kept rows included; per frame: / the hop's frames. "
            "Windowed: one invoke over the whole window (the on-board table's figure), run once "
            "per decoding hop; per frame: / that hop's frames. SRAM (both): bench image .data + "
            ".bss (arena, persistent area; not the measurement's tables) + stack bound; flash: the "
            "bench image. "
            "TFLite Micro + CMSIS-NN streams the same segment of the same encoder "
            "(export/tflm/stream.py: the rings' states as explicit inputs, each next state a "
            "STRIDED_SLICE output), built and counted as in the on-board table: one Invoke = "
            "one hop, the second Invoke counted whole (interpreter included), from seeded "
            "random frames and the states at their zero points, its outputs equal to the "
            "tflite-micro wheel's byte for byte (checked in this run). Not counted for it: the "
            "copy of each next state back onto its state input between hops (a memcpy of the "
            "kept state's bytes, which ours counts as its shift) and its stack: both in its "
            "favour. Its SRAM: arena_used_bytes() on the board (the states included) + its "
            ".data/.bss outside the arena; flash: its bench image. Ratios are ours / TFLM: "
            "below 1 is better.", "",
            *_table(("model", "board", "hop frames", "streamed instr./hop",
                     "TFLM+CMSIS-NN streamed instr./hop", "instr./hop ours / TFLM",
                     "streamed instr./frame", "TFLM streamed instr./frame",
                     "windowed instr./invoke", "windowed hop frames", "windowed instr./frame",
                     "per-frame saving", "streamed SRAM KB", "TFLM streamed SRAM KB",
                     "SRAM ours / TFLM", "windowed SRAM KB", "kept state B",
                     "streamed flash KB", "TFLM streamed flash KB", "windowed flash KB"),
                    [_stream_cells(r) for r in res.stream]), ""]


def _memory(res: BenchResults) -> list[str]:
    rows = [(m.model, m.operators, _kb(m.planned_peak_bytes), _kb(m.persistent_bytes),
             _kb(m.static_ram_bytes), m.stack_bound_bytes or "—", _kb(m.tflm_total_bytes),
             f"{_kb(m.tflm_head_bytes)} + {_kb(m.tflm_tail_bytes)}", f"{m.sram_ratio:.2f}",
             f"{m.peak_over_live_bound:.3f}", f"{m.peak_over_lower_bound:.3f}",
             f"{m.no_reuse_over_peak:.2f}")
            for m in res.memory]
    return ["## Memory (SRAM)", "",
            f"Ours: planned peak + persistent area, and the static SRAM of the generated model + "
            f"kernels linked for {REFERENCE_BOARD} (= what the firmware reserves for the model); "
            "TFLM: tflite-micro's arena measured with print_allocations (head + tail). "
            "SRAM ratio target <= 0.35. Peak / live: the planned peak over the most bytes live at "
            "once in the schedule (the classic lower bound; target 1.00 on chains, <= 1.05 "
            "otherwise); below 1 where outputs are placed partly over their dying inputs "
            "(slides, in-place depthwise). Peak / LB: over the tighter bound that also grants "
            "every step its allowed overlap (not always reachable: consecutive slides can only "
            "move downward). No-reuse: every tensor its own buffer.", "",
            *_table(("model", "ops", "peak KB", "persistent KB", "static SRAM KB", "stack B",
                     "TFLM KB", "TFLM head + tail KB", "SRAM / TFLM", "peak / live", "peak / LB",
                     "no-reuse / peak"), rows), ""]


def _flash(res: BenchResults) -> list[str]:
    rows = [(f.model, f.board, _kb(f.code_bytes), _kb(f.const_bytes), _kb(f.model_flash_bytes),
             _kb(f.tflite_bytes), f"{f.ratio_vs_tflite:.2f}", _kb(f.firmware_total_bytes))
            for f in res.flash]
    return ["## Flash", "", "Ours: generated model + used kernels linked alone "
            "(arm-none-eabi-size: text; rodata + data). The peer's flash, measured, is in the "
            "on-board table above. Firmware: the no-model firmware + the model.", "",
            *_table(("model", "board", "code KB", "weights+params KB", "model KB", ".tflite KB",
                     "ours / .tflite", "firmware KB"), rows), ""]


def _host(res: BenchResults) -> list[str]:
    rows = [(h.model, f"{h.ours_instructions:,}", f"{h.tflm_instructions:,}", f"{h.ratio:.2f}")
            for h in res.host]
    return ["## Host instructions (callgrind)", "", "Secondary: on the x86 host, against "
            "tflite-micro's reference kernels (which nobody deploys on a Cortex-M; the on-board "
            "comparison above is the one that counts). One invoke, instructions counted by "
            "valgrind --tool=callgrind inside the invoke function only (the last of 2 invokes, "
            "zero inputs).", "",
            *_table(("model", "generated C", "tflite-micro", "ours / TFLM"), rows), ""]


def _board(res: BenchResults) -> list[str]:
    acle = {(r.model, r.board): r for r in res.board if r.kernels == "acle"}
    port = {(r.model, r.board): r for r in res.board if r.kernels == "portable"}
    rows = []
    for (model, board), r in acle.items():
        p = port.get((model, board))
        rows.append((model, board, f"{r.total_instructions:,}",
                     f"{p.total_instructions:,}" if p else "—",
                     f"{r.total_instructions / p.total_instructions:.2f}" if p else "—",
                     _kb(r.image_flash_bytes), _kb(r.image_static_ram_bytes)))
    return ["## Board instructions (QEMU -icount shift=7)", "", "Executed instructions of one "
            "invoke on the emulated boards (deterministic). ACLE: the kernels' DSP SIMD path; "
            "portable: the same kernels built with -U__ARM_FEATURE_DSP. Per-operator bars: "
            "board_ops_*.png.", "",
            *_table(("model", "board", "ACLE instr.", "portable instr.", "ACLE / portable",
                     "image flash KB", "image SRAM KB"), rows), ""]


def _realtime(res: BenchResults) -> list[str]:
    rows = [(t.model, t.board, f"{t.encoder_instructions:,}", f"{t.step_instructions:,}",
             f"{t.hop_instructions:,}", f"{t.step_ms:.3f}", f"{t.realtime_factor:.3f}")
            for t in res.realtime]
    return ["## Real time at 216 MHz (STM32F746 class), 85 tokens/s worst case", "",
            "Per hop (1 s): one encoder run + 85 decoder steps. Real-time factor = instructions "
            "per second of music / 216e6, assuming one instruction per cycle (an estimate).", "",
            *_table(("model", "board", "encoder instr.", "step instr.", "per-hop instr.",
                     "step ms", "RTF"), rows), ""]


def _scaling(res: BenchResults) -> list[str]:
    rows = [(p.axis, p.value, p.role, _kb(p.planned_peak_bytes), _kb(p.persistent_bytes),
             _kb(p.tflm_total_bytes), _kb(p.model_flash_bytes), f"{p.instructions:,}",
             f"{p.realtime_factor:.3f}", ", ".join(p.over_budget) or "fits")
            for p in res.scaling]
    axes = ", ".join(f"{a} {v[1]}" for a, v in AXES.items())
    return ["## Scaling (default student, one field varied; emulated M7)", "",
            f"Full sweep: {axes}. Budget: 320 KB SRAM, 1 MB flash, RTF <= 1 at 216 MHz. "
            "Curves: scaling.png.", "",
            *_table(("axis", "value", "model", "peak KB", "persistent KB", "TFLM KB",
                     "flash KB", f"{REFERENCE_BOARD} instr.", "RTF", "budget"), rows), ""]


def _verdict(need: float, budget: float, unit: str) -> str:
    digits = 1 if unit else 3
    if need <= budget:
        return f"fits ({budget - need:.{digits}f} {unit} left)".replace("  ", " ")
    return f"MISSES by {need - budget:.{digits}f} {unit} ({need / budget:.2f}x)".replace("  ", " ")


def _budget(res: BenchResults) -> list[str]:
    rows = []
    for fam in dict.fromkeys(m.family for m in res.models if m.role == "encoder"):
        names = {m.name for m in res.models if m.family == fam}
        mem = [m for m in res.memory if m.model in names]
        fl = [f for f in res.flash if f.model in names and f.board == REFERENCE_BOARD]
        rt = [t for t in res.realtime if t.model == fam and t.board == REFERENCE_BOARD]
        if len(mem) < 2 or len(fl) < 2:
            continue
        sram = sum(m.static_ram_bytes for m in mem) / KB
        flash = (sum(f.model_flash_bytes for f in fl) + fl[0].firmware_base_bytes) / KB
        rows.append((fam, f"{sram:.1f}", _verdict(sram, 320, "KB"), f"{flash:.1f}",
                     _verdict(flash, 1024, "KB"),
                     f"{rt[0].realtime_factor:.3f}" if rt else "—",
                     _verdict(rt[0].realtime_factor, 1.0, "") if rt else "—"))
    return ["## Budget of the STM32F746 class (320 KB SRAM, 1 MB flash, 216 MHz)", "",
            "SRAM: static SRAM of the generated encoder + decoder step (each with its own "
            "arena, as generated today); flash: both models + the no-model firmware; time: the "
            f"real-time factor on {REFERENCE_BOARD}.", "",
            *_table(("model", "SRAM KB", "SRAM", "flash KB", "flash", "RTF", "time"), rows), ""]


def _missing(res: BenchResults) -> list[str]:
    rows = [(u.what, u.reason.replace("|", "/")) for u in res.unavailable]
    body = _table(("what", "reason"), rows) if rows else ["Everything was measured."]
    return ["## Not available", "", *body, ""]


def render_markdown(res: BenchResults, command: str) -> str:
    """The whole results.md."""
    models = [(m.name, m.family, m.role, "emulator" if m.emulator_memory else "board budgets",
               m.note) for m in res.models]
    parts = ["# foley-edge bench results", "",
             f"Produced by `{command}` (every table below; rerun it to refresh). Numbers are "
             "measured in this run; rows that could not be measured are listed under "
             "'Not available' with the reason, never filled in.", "",
             *_table(("model", "family", "role", "our bench image's memory", "provenance"),
                    models), "",
             *_peer(res, command), *_stream(res), *_ops(res), *_memory(res), *_flash(res), *_host(res), *_board(res), *_realtime(res),
             *_budget(res), *_scaling(res), *_missing(res)]
    return "\n".join(parts)
