"""Run every figure and collect plain results (``run_bench``); writing is in :mod:`.output`.

Steps per model: generate (read, plan, verify, emit C); memory (planner, model linked alone on
the M7, tflite-micro arena, bench image stack bound); flash per board; host instructions
(callgrind); per-operator instructions per emulated board (QEMU) and ACLE vs portable kernels
on the M7; the peer, TFLite Micro + CMSIS-NN, on the same boards (:mod:`benchmarks.peer`,
independent of our compiler: a model we cannot compile still gets its peer row); the student's
encoder streamed in short hops on each board, beside its windowed run and, with the peer, beside
TFLite Micro + CMSIS-NN streaming the same encoder (:mod:`benchmarks.stream`). Then the
side-by-side rows (:func:`runtime_rows`), the real-time factors of encoder/step pairs and the
scaling sweep. Anything that fails or lacks a tool becomes an :class:`benchmarks.Unavailable`
row with its reason.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import Unavailable
from benchmarks.board import FOLEY_TOKENS_PER_S, REFERENCE_HZ, BoardRun, run_on_board
from benchmarks.flash import FlashRow, firmware_base_flash, flash_row
from benchmarks.host import HostRow, host_row
from benchmarks.memory import MemoryRow, memory_row
from benchmarks.models import BenchModel, persistent_inputs
from benchmarks.peer import RUNTIME as PEER
from benchmarks.peer import PeerRun, run_peer_on_board
from benchmarks.scaling import ScalingPoint, scaling_point, sweep_configs
from benchmarks.speed import RealTime, real_time
from benchmarks.stream import (
    DEFAULT_HOP,
    StreamRow,
    StreamRun,
    run_peer_stream_on_board,
    run_stream_on_board,
    stream_label,
)
from benchmarks.stream import stream_row as make_stream_row
from benchmarks.toolchain import Generated, build_image, generate, model_size
from edge.errors import FoleyEdgeError

OURS = "foley-edge"
"""Our runtime's name in results (``rows[].runtime``)."""

REFERENCE_BOARD = "qemu-m7"
"""The board whose build stands for the STM32F746 reference (same core and budgets)."""

STREAM_FAMILIES: tuple[str, ...] = ("student",)
"""Families whose encoder the bench also streams (``BenchOptions.stream_hop``)."""


@dataclass(frozen=True)
class BenchOptions:
    """What to run."""

    models: tuple[BenchModel, ...]  # models of the memory/flash/host/board figures
    boards: tuple[str, ...] = ("qemu-m4", "qemu-m7", "qemu-m55")  # emulated boards
    qemu: bool = True  # run the board figure (QEMU)
    host: bool = True  # run the host figure (callgrind)
    peer: bool = True  # run TFLite Micro + CMSIS-NN on the boards too (needs qemu)
    scaling_axes: dict[str, tuple[str, tuple[int, ...]]] = field(default_factory=dict)  # sweep
    hop_seconds: float = 1.0  # seconds of music per encoder run (StudentConfig: 22/22 fps)
    stream_hop: int | None = DEFAULT_HOP  # frames per hop of the streamed student encoder on
    #                                       each board (needs qemu); None: not streamed
    unavailable: tuple[Unavailable, ...] = ()  # models known missing before the run (reasons)


@dataclass(frozen=True)
class BenchResults:
    """Everything one bench run measured."""

    memory: tuple[MemoryRow, ...]  # memory figure, one row per model
    flash: tuple[FlashRow, ...]  # flash figure, one row per model and board
    host: tuple[HostRow, ...]  # host instructions, one row per model
    board: tuple[BoardRun, ...]  # per-operator instructions, per model, board and kernel path
    peer: tuple[PeerRun, ...]  # TFLite Micro + CMSIS-NN, per model and board
    rows: tuple[RuntimeRow, ...]  # tidy: one per model x board x runtime (ours, the peer)
    realtime: tuple[RealTime, ...]  # encoder/step pairs -> real-time factor
    scaling: tuple[ScalingPoint, ...]  # the sweep
    unavailable: tuple[Unavailable, ...]  # what could not be measured, and why
    models: tuple[BenchModel, ...]  # the models, with provenance
    stream_runs: tuple[StreamRun, ...] = ()  # streamed encoders: every hop, per model and board
    stream: tuple[StreamRow, ...] = ()  # streamed beside windowed, per model and board
    stream_peer: tuple[PeerRun, ...] = ()  # TFLM + CMSIS-NN streaming the same encoders, per
    #                                        board (model: the streamed row's label)


@dataclass
class _Acc:
    """Mutable accumulator of one run (local to run_bench)."""

    rows: dict[str, list[Any]] = field(default_factory=lambda: {k: [] for k in (
        "memory", "flash", "host", "board", "peer", "scaling", "stream", "stream_peer")})
    missing: list[Unavailable] = field(default_factory=list)
    gens: dict[str, Generated] = field(default_factory=dict)

    def attempt(self, what: str, fn: Callable[[], Any]) -> Any:
        """``fn()``, or None with an Unavailable row when it raises.

        Errors other than FoleyEdgeError/OSError (a bug in a part still being written, e.g.
        a template error in the code generator) are recorded with their type, so one broken
        part does not stop the other figures; they are never turned into numbers.
        """
        try:
            return fn()
        except (FoleyEdgeError, OSError) as e:
            reason = str(e).strip()
        except Exception as e:  # noqa: BLE001 - recorded as unavailable with its type, see above
            reason = f"internal error {type(e).__name__}: {e}".strip()
        self.missing.append(Unavailable(what, (reason.splitlines() or ["?"])[0][:300]))
        return None


def _board(name: str) -> Any:
    from firmware_bridge.boards.registry import get_board

    return get_board(name)


def _model_tasks(opts: BenchOptions, acc: _Acc, work: Path,
                 bases: dict[str, int]) -> list[tuple[str, Callable[[], None]]]:
    """(label, task) for every per-model measurement, in run order."""
    tasks: list[tuple[str, Callable[[], None]]] = []
    for m in opts.models:
        tasks.append((f"{m.name}: plan + C", lambda m=m: _generate(m, acc)))
        tasks.append((f"{m.name}: memory + flash", lambda m=m: _memory_flash(m, opts, acc, work,
                                                                              bases)))
        if opts.host:
            tasks.append((f"{m.name}: callgrind", lambda m=m: _host(m, acc)))
        if opts.qemu:
            for b in opts.boards:
                tasks.append((f"{m.name}: {b}", lambda m=m, b=b: _on_board(m, b, acc, False)))
                if opts.peer:
                    tasks.append((f"{m.name}: {b} TFLM+CMSIS-NN",
                                  lambda m=m, b=b: _peer_on_board(m, b, acc)))
            if REFERENCE_BOARD in opts.boards:
                tasks.append((f"{m.name}: {REFERENCE_BOARD} portable",
                              lambda m=m: _on_board(m, REFERENCE_BOARD, acc, True)))
            tasks += _stream_tasks(m, opts, acc)
    return tasks


def _stream_tasks(m: BenchModel, opts: BenchOptions,
                  acc: _Acc) -> list[tuple[str, Callable[[], None]]]:  # fmt: skip
    """(label, task) of ``m`` streamed on every board, ours then (``opts.peer``) TFLite Micro
    + CMSIS-NN's, when it is an encoder to stream."""
    hop = opts.stream_hop
    if hop is None or m.family not in STREAM_FAMILIES or m.role != "encoder":
        return []
    tasks: list[tuple[str, Callable[[], None]]] = []
    for b in opts.boards:
        tasks.append((f"{m.name}: {b} streamed (hop {hop})",
                      lambda b=b: _stream_on_board(m, b, hop, acc)))
        if opts.peer:
            tasks.append((f"{m.name}: {b} streamed (hop {hop}) TFLM+CMSIS-NN",
                          lambda b=b: _peer_stream_on_board(m, b, hop, acc)))
    return tasks


def _stream_on_board(m: BenchModel, board: str, hop: int, acc: _Acc) -> None:
    run = acc.attempt(f"{stream_label(m.name, hop)}: {board}",
                      lambda: run_stream_on_board(m, _board(board), hop))
    if run is not None:
        acc.rows["stream"].append(run)


def _peer_stream_on_board(m: BenchModel, board: str, hop: int, acc: _Acc) -> None:
    run = acc.attempt(f"{stream_label(m.name, hop)}: {board} (TFLite Micro + CMSIS-NN)",
                      lambda: run_peer_stream_on_board(m, _board(board), hop))
    if run is not None:
        acc.rows["stream_peer"].append(run)


def _generate(m: BenchModel, acc: _Acc) -> None:
    gen = acc.attempt(f"{m.name}: generated C", lambda: generate(m))
    if gen is not None:
        acc.gens[m.name] = gen


def _memory_flash(m: BenchModel, opts: BenchOptions, acc: _Acc, work: Path,
                  bases: dict[str, int]) -> None:
    gen = acc.gens.get(m.name)
    if gen is None:
        return
    ops = len({op.op for op in gen.graph.operators})
    tflite = Path(m.path).stat().st_size
    for b in dict.fromkeys((REFERENCE_BOARD, *opts.boards)):
        folder = work / "size" / m.name.replace(" ", "_") / b
        size = acc.attempt(f"{m.name}: flash on {b}", lambda b=b, f=folder: model_size(
            gen, _board(b), f))
        if size is None:
            continue
        acc.rows["flash"].append(flash_row(m.name, b, size, tflite, ops, bases.get(b, 0)))
        if b == REFERENCE_BOARD:
            img = acc.attempt(f"{m.name}: stack bound", lambda f=folder: build_image(
                gen, _board(REFERENCE_BOARD), f / "image", emulator_memory=m.emulator_memory))
            row = acc.attempt(f"{m.name}: memory", lambda s=size, i=img: memory_row(
                m, gen, s, i.stack_bound_bytes if i is not None else 0))
            if row is not None:
                acc.rows["memory"].append(row)


def _host(m: BenchModel, acc: _Acc) -> None:
    gen = acc.gens.get(m.name)
    if gen is not None:
        row = acc.attempt(f"{m.name}: host instructions", lambda: host_row(m, gen))
        if row is not None:
            acc.rows["host"].append(row)


def _on_board(m: BenchModel, board: str, acc: _Acc, portable: bool) -> None:
    gen = acc.gens.get(m.name)
    if gen is not None:
        kind = "portable" if portable else "acle"
        run = acc.attempt(f"{m.name}: {board} ({kind})",
                          lambda: run_on_board(gen, m.name, _board(board), portable=portable,
                                               emulator_memory=m.emulator_memory))
        if run is not None:
            acc.rows["board"].append(run)


def _peer_on_board(m: BenchModel, board: str, acc: _Acc) -> None:
    def measure() -> PeerRun:
        from export.tflite_reader import read_tflite

        data = Path(m.path).read_bytes()
        keep = persistent_inputs(read_tflite(data, compiler_ops=False), m.persistent)
        return run_peer_on_board(data, m.name, _board(board), persistent=keep)

    run = acc.attempt(f"{m.name}: {board} (TFLite Micro + CMSIS-NN)", measure)
    if run is not None:
        acc.rows["peer"].append(run)


@dataclass(frozen=True)
class RuntimeRow:
    """One model on one board under one runtime (results.json ``rows``)."""

    model: str  # the .tflite file's stem
    name: str  # the bench's label for it
    board: str  # board name
    runtime: str  # "foley-edge" (generated C, ACLE kernels) or "tflm-cmsis-nn"
    instructions: int  # one invoke (TFLM: the whole second Invoke, interpreter included)
    sram_bytes: int  # ours: image .data + .bss (arena, persistent) + stack bound; TFLM:
    #                  arena_used_bytes + .data + .bss outside its arena (stack not counted)
    flash_bytes: int  # the bench image: text + rodata + data (startup and bench main included)


def runtime_rows(models: tuple[BenchModel, ...], board: list[BoardRun],
                 peer: list[PeerRun]) -> list[RuntimeRow]:  # fmt: skip
    """The side-by-side rows, ours then the peer's, per model and board."""
    stem = {m.name: Path(m.path).stem for m in models}
    out = [RuntimeRow(stem.get(r.model, r.model), r.model, r.board, OURS, r.total_instructions,
                      r.image_static_ram_bytes + r.stack_bound_bytes, r.image_flash_bytes)
           for r in board if r.kernels == "acle"]
    out += [RuntimeRow(stem.get(r.model, r.model), r.model, r.board, PEER, r.total_instructions,
                       r.sram_bytes, r.flash_bytes) for r in peer]
    order = {m.name: k for k, m in enumerate(models)}
    return sorted(out, key=lambda r: (order.get(r.name, len(order)), r.board, r.runtime != OURS))


def _pairs(opts: BenchOptions, runs: list[BoardRun]) -> list[RealTime]:
    """Real-time factors for every family with an encoder and a step measured on a board."""
    out = []
    by = {(r.model, r.board): r for r in runs if r.kernels == "acle"}
    families = dict.fromkeys(m.family for m in opts.models)
    for fam in families:
        enc = next((m for m in opts.models if m.family == fam and m.role == "encoder"), None)
        steps = [m for m in opts.models if m.family == fam and m.role == "step"]
        for step in steps:
            for b in opts.boards:
                s = by.get((step.name, b))
                e = by.get((enc.name, b)) if enc is not None else None
                if s is not None and (enc is None or e is not None):
                    out.append(real_time(b, fam if enc else step.name,
                                         e.total_instructions if e else 0, s.total_instructions,
                                         opts.hop_seconds, REFERENCE_HZ, FOLEY_TOKENS_PER_S))
    return out


def _stream_rows(opts: BenchOptions, runs: list[StreamRun], board: list[BoardRun],
                 peer: list[PeerRun]) -> list[StreamRow]:  # fmt: skip
    """Every streamed run beside the windowed encoder's ACLE run on the same board and the
    peer's streamed run of the same encoder and hop there."""
    windowed = {(r.model, r.board): r for r in board if r.kernels == "acle"}
    theirs = {(r.model, r.board): r for r in peer}
    frames = {m.name: m.hop_frames for m in opts.models}
    return [make_stream_row(s, windowed.get((s.model, s.board)), frames.get(s.model, 0),
                            peer=theirs.get((stream_label(s.model, s.hop_frames), s.board)))
            for s in runs]


def _scaling_tasks(opts: BenchOptions, acc: _Acc,
                   work: Path) -> list[tuple[str, Callable[[], None]]]:
    return [(f"sweep {axis}={value}", lambda a=axis, v=value, r=role, c=cfg:
             _sweep_point(a, v, r, c, opts, acc, work))
            for axis, value, role, cfg in sweep_configs(opts.scaling_axes)]


def _sweep_point(axis: str, value: int, role: str, cfg: Any, opts: BenchOptions, acc: _Acc,
                 work: Path) -> None:
    from benchmarks.models import config_model
    from export.tflm.arena import measure_tflm_arena

    what = f"sweep {axis}={value}"
    m = acc.attempt(what, lambda: config_model(cfg, role, name=what, family="sweep"))
    gen = acc.attempt(what, lambda: generate(m)) if m is not None else None
    if gen is None:
        return
    board = _board(REFERENCE_BOARD)
    size = acc.attempt(what, lambda: model_size(gen, board, work / "sweep" / f"{axis}_{value}"))
    tflm = acc.attempt(what, lambda: measure_tflm_arena(Path(m.path).read_bytes()))
    run = acc.attempt(what, lambda: run_on_board(gen, what, board)) if opts.qemu else None
    instr = run.total_instructions if run is not None else 0
    per_s = FOLEY_TOKENS_PER_S if role == "step" else 1.0 / cfg.hop_seconds
    acc.rows["scaling"].append(scaling_point(
        axis, value, role, peak=gen.plan.arena_bytes, persistent=gen.plan.persistent_bytes,
        tflm=tflm.total_bytes if tflm else 0, flash=size.flash_bytes if size else 0,
        instructions=instr, rtf=round(instr * per_s / REFERENCE_HZ, 4),
        sram_budget=board.sram_budget, flash_budget=board.flash_budget))


def run_bench(opts: BenchOptions, progress: Callable[[str], None] | None = None,
              total: Callable[[int], None] | None = None) -> tuple[BenchResults, dict[str, Generated]]:
    """Run every figure of ``opts``; ``progress(label)`` after each step, ``total(n)`` first."""
    acc = _Acc()
    acc.missing.extend(opts.unavailable)
    with tempfile.TemporaryDirectory(prefix="foley-bench-") as tmp:
        work = Path(tmp)
        bases: dict[str, int] = {}
        tasks: list[tuple[str, Callable[[], None]]] = [
            (f"firmware {b}", lambda b=b: bases.__setitem__(b, acc.attempt(
                f"no-model firmware on {b}", lambda: firmware_base_flash(b, work / "fw" / b))
                or 0)) for b in dict.fromkeys((REFERENCE_BOARD, *opts.boards))]
        tasks += _model_tasks(opts, acc, work, bases) + _scaling_tasks(opts, acc, work)
        if total is not None:
            total(len(tasks))
        for label, task in tasks:
            task()
            if progress is not None:
                progress(label)
    r = acc.rows
    return BenchResults(tuple(r["memory"]), tuple(r["flash"]), tuple(r["host"]),
                        tuple(r["board"]), tuple(r["peer"]),
                        tuple(runtime_rows(opts.models, r["board"], r["peer"])),
                        tuple(_pairs(opts, r["board"])),
                        tuple(r["scaling"]), tuple(acc.missing), opts.models,
                        tuple(r["stream"]),
                        tuple(_stream_rows(opts, r["stream"], r["board"], r["stream_peer"])),
                        tuple(r["stream_peer"])), acc.gens
