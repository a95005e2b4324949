"""Streamed encoder figure: instructions per hop and per frame, SRAM and flash, against the
windowed encoder on the same board and against TFLite Micro + CMSIS-NN streaming the same
encoder.

Steps for one encoder and board: :func:`generate_stream` (``read_tflite`` -> ``plan_stream``
with the hop in frames (+ ``verify_plan``) -> ``emit_stream_c``); a bench image with the
streaming main (``templates/bench_stream_main.c.j2``: ``{p}_stream_reset()`` then
``warm-up + MEASURED_HOPS`` hops of ``{p}_stream_invoke()``, zero input bytes as the windowed
image's) built by :func:`benchmarks.toolchain.build_image`; boot under QEMU ``-icount shift=7``
(:func:`benchmarks.board.boot`). A hop's count includes the shift of the kept rows. Per hop:
the median of the hops after the warm-up (the first hop skips the shift, and a hop's count may
vary by a few instructions with the data); per frame: that / the hop's frames.
:func:`stream_row` sets it beside the windowed encoder's board run (one invoke per decoding
hop of ``BenchModel.hop_frames`` frames, 22 for the student): the per-frame saving.

The peer, :func:`run_peer_stream_on_board`: :func:`export.tflm.stream.stream_tflite` streams the
same segment (the default cut, as ``plan_stream``'s) with the rings' states as explicit inputs
and the next states as outputs; :func:`benchmarks.peer.run_peer_on_board` builds its
TFLite Micro + CMSIS-NN bench image with the states as persistent inputs and counts the whole
second ``Invoke()`` (interpreter included): one Invoke = one hop, from seeded random frames and
every state at its zero point (every hop runs the same operators over the same shapes; ours
runs zero frames and takes the median of steady hops), the outputs checked byte for byte against the ``tflite-micro`` wheel (:class:`BenchError`
otherwise). Its STRIDED_SLICE of each next state is counted; the caller's copy of each next
state back onto its state input between hops (``tflm_stream.cc``'s ``memcpy``, the kept
state's bytes) is not, which is in the peer's favour: ours counts its shift.

SRAM as the on-board table counts each: ours, the image's ``.data + .bss`` (arena, persistent
area with the rings' states) + its call-graph stack bound; the peer, ``arena_used_bytes`` (the
states included) + its ``.data + .bss`` outside the arena, no stack (in its favour). Flash: each
bench image.
"""

from __future__ import annotations

import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import BenchError
from benchmarks.board import BoardRun, boot
from benchmarks.models import BenchModel, persistent_inputs
from benchmarks.peer import PeerRun
from benchmarks.toolchain import PREFIX, TEMPLATES, Generated, build_image

DEFAULT_HOP = 4
"""Frames per streamed hop by default (``--stream-hop``): ~180 ms at 22 fps."""

MEASURED_HOPS = 5
"""Hops measured after the warm-up (the median is reported)."""


@dataclass(frozen=True)
class StreamRun:
    """Hops of one streamed encoder on one emulated board."""

    model: str  # bench model name of the windowed encoder
    board: str  # board name
    hop_frames: int  # new frames per streamed hop
    warmup_hops: int  # hops after a reset before the outputs equal the windowed encoder's
    hop_counts: tuple[int, ...]  # instructions of every hop run, from the reset (shift included)
    hop_instructions: int  # median of the hops after the warm-up
    frame_instructions: int  # hop_instructions / hop_frames, rounded
    segment_operators: int  # windowed operators run on the fresh rows only
    state_bytes: int  # rows kept between hops (the rings' states)
    arena_bytes: int  # planned arena of the stream graph
    persistent_bytes: int  # planned persistent area (the rings' blocks, any other state)
    macs_hop: int  # multiply-accumulates per hop
    macs_window: int  # multiply-accumulates of one windowed invoke
    image_flash_bytes: int  # the bench image: text + rodata + data
    image_static_ram_bytes: int  # its .data + .bss
    stack_bound_bytes: int  # its call-graph stack bound (0: unbounded)

    @property
    def sram_bytes(self) -> int:
        """SRAM as the on-board table counts ours: static SRAM + stack bound."""
        return self.image_static_ram_bytes + self.stack_bound_bytes


@dataclass(frozen=True)
class StreamRow:
    """The streamed encoder beside the windowed one, on one board (results.json ``stream``)."""

    name: str  # row label, e.g. "student encoder, streamed (hop 4)"
    model: str  # bench model name of the windowed encoder
    board: str  # board name
    hop_frames: int  # frames per streamed hop
    hop_instructions: int  # streamed: median instructions per hop after the warm-up
    frame_instructions: int  # streamed: per frame (hop_instructions / hop_frames)
    sram_bytes: int  # streamed: image .data + .bss + stack bound
    flash_bytes: int  # streamed: bench image flash
    state_bytes: int  # streamed: rows kept between hops
    windowed_hop_frames: int  # frames per windowed invoke (the decoding hop; 0: unknown)
    windowed_instructions: int  # windowed: one invoke (0: not measured)
    windowed_frame_instructions: int  # windowed: per frame (invoke / windowed_hop_frames; 0)
    windowed_sram_bytes: int  # windowed: image .data + .bss + stack bound (0: not measured)
    windowed_flash_bytes: int  # windowed: bench image flash (0: not measured)
    frame_saving: float  # windowed per frame / streamed per frame (nan: not comparable)
    peer_hop_instructions: int = 0  # TFLM + CMSIS-NN streamed: one Invoke (0: not measured)
    peer_frame_instructions: int = 0  # TFLM streamed: per frame (Invoke / hop_frames)
    peer_sram_bytes: int = 0  # TFLM streamed: arena used + .data/.bss outside it (no stack)
    peer_flash_bytes: int = 0  # TFLM streamed: bench image flash
    hop_ratio: float = float("nan")  # streamed instructions per hop, ours / TFLM (nan: no peer)
    sram_ratio: float = float("nan")  # streamed SRAM, ours / TFLM (nan: no peer)


def stream_label(model: str, hop: int) -> str:
    """The row label of ``model`` streamed in hops of ``hop`` frames."""
    return f"{model}, streamed (hop {hop})"


def generate_stream(model: BenchModel, hop: int) -> tuple[Generated, Any]:
    """(the stream graph's generated C, its ``Streaming``) for ``model`` in hops of ``hop``."""
    from export.codegen.stream import emit_stream_c
    from export.planner.stream import plan_stream
    from export.planner.verify import verify_plan
    from export.tflite_reader import read_tflite

    graph = read_tflite(model.path)
    g2, plan, info = plan_stream(graph, hop, persistent=persistent_inputs(graph, model.persistent))
    verify_plan(g2, plan)
    return Generated(g2, plan, emit_stream_c(g2, plan, info, prefix=PREFIX), PREFIX), info


def stream_main(prefix: str, hops: int) -> str:
    """The streaming bench main's C text for ``hops`` hops."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                      keep_trailing_newline=True)
    return env.get_template("bench_stream_main.c.j2").render(p=prefix, P=prefix.upper(),
                                                             hops=hops)


def parse_hops(text: str, hops: int) -> tuple[int, list[int], int]:
    """(timing overhead, per-hop counts, status) from the streaming bench main's lines."""
    cal, status, got = None, None, {}
    for line in text.splitlines():
        parts = line.split()
        if parts[:1] == ["CAL"] and len(parts) == 2:
            cal = int(parts[1])
        elif parts[:1] == ["HOP"] and len(parts) == 3:
            got[int(parts[1])] = int(parts[2])
        elif parts[:1] == ["STATUS"] and len(parts) == 2:
            status = int(parts[1])
    if cal is None or status is None or "END" not in text or sorted(got) != list(range(hops)):
        raise BenchError(f"streaming bench image output: expected CAL, {hops} HOP lines, STATUS "
                         f"and END, found {text[-400:]!r}")
    return cal, [got[k] for k in range(hops)], status


def run_stream_on_board(model: BenchModel, board: Any, hop: int, *,
                        work: Path | None = None) -> StreamRun:
    """Generate, build, boot and measure ``model`` streamed in hops of ``hop`` frames."""
    gen, info = generate_stream(model, hop)
    hops = info.warmup_hops + MEASURED_HOPS
    with tempfile.TemporaryDirectory(prefix="foley-bench-stream-") as tmp:
        folder = Path(work) if work is not None else Path(tmp)
        image = build_image(gen, board, folder, emulator_memory=model.emulator_memory,
                            main_c=stream_main(gen.prefix, hops))
        text = boot(board, image.elf, folder, stream_label(model.name, hop))
    cal, counts, status = parse_hops(text, hops)
    if status != 0:
        raise BenchError(f"{model.name} streamed on {board.name}: a hop returned -{status}, "
                         "expected 0")
    counts = [max(0, c - cal) for c in counts]
    steady = int(statistics.median(counts[info.warmup_hops:]))
    return StreamRun(model=model.name, board=board.name, hop_frames=hop,
                     warmup_hops=info.warmup_hops, hop_counts=tuple(counts),
                     hop_instructions=steady, frame_instructions=round(steady / hop),
                     segment_operators=len(info.segment), state_bytes=info.state_bytes,
                     arena_bytes=gen.plan.arena_bytes, persistent_bytes=gen.plan.persistent_bytes,
                     macs_hop=info.macs_hop, macs_window=info.macs_window,
                     image_flash_bytes=image.size.flash_bytes,
                     image_static_ram_bytes=image.model_ram_bytes,
                     stack_bound_bytes=image.stack_bound_bytes)


def stream_inputs(stream: Any, graph: Any) -> list[bytes]:
    """The peer's bench inputs for ``stream`` (a :class:`export.tflm.stream.StreamModel`,
    ``graph`` its flatbuffer read): seeded random frames, then every state at its zero point."""
    from benchmarks.peer import bench_inputs

    states = [s.tobytes() for s in stream.initial_states]
    want = [graph.tensors[t].nbytes for t in graph.inputs[1:]]
    if [len(s) for s in states] != want:
        raise BenchError(f"{graph.name}: initial states of {[len(s) for s in states]} bytes, "
                         f"expected {want} (the state inputs)")
    return [bench_inputs(graph)[0], *states]


def run_peer_stream_on_board(model: BenchModel, board: Any, hop: int, *,
                             work: Path | None = None) -> PeerRun:  # fmt: skip
    """TFLite Micro + CMSIS-NN running ``model`` streamed in hops of ``hop`` frames on
    ``board`` (see the module docstring): one Invoke = one hop. The run's ``model`` is the
    streamed row's label (:func:`stream_label`)."""
    from benchmarks.peer import run_peer_on_board
    from export.tflite_reader import read_tflite
    from export.tflm.stream import stream_tflite

    stream = stream_tflite(Path(model.path).read_bytes(), hop)
    graph = read_tflite(stream.flatbuffer, compiler_ops=False)
    label = stream_label(model.name, hop)
    run = run_peer_on_board(stream.flatbuffer, label, board, persistent=tuple(graph.inputs[1:]),
                            inputs=stream_inputs(stream, graph), work=work)
    if not run.matches_wheel:
        raise BenchError(f"{label} under TFLite Micro + CMSIS-NN on {board.name}: outputs differ "
                         "from the tflite-micro wheel's on the same inputs, expected equal")
    return run


def stream_row(run: StreamRun, windowed: BoardRun | None, windowed_hop_frames: int, *,
               peer: PeerRun | None = None) -> StreamRow:
    """``run`` beside the windowed encoder's board run and the peer's streamed run (None: not
    measured in this run)."""
    w_instr = windowed.total_instructions if windowed is not None else 0
    w_frame = round(w_instr / windowed_hop_frames) if w_instr and windowed_hop_frames else 0
    return StreamRow(
        name=stream_label(run.model, run.hop_frames), model=run.model, board=run.board,
        hop_frames=run.hop_frames, hop_instructions=run.hop_instructions,
        frame_instructions=run.frame_instructions, sram_bytes=run.sram_bytes,
        flash_bytes=run.image_flash_bytes, state_bytes=run.state_bytes,
        windowed_hop_frames=windowed_hop_frames, windowed_instructions=w_instr,
        windowed_frame_instructions=w_frame,
        windowed_sram_bytes=(windowed.image_static_ram_bytes + windowed.stack_bound_bytes
                             if windowed is not None else 0),
        windowed_flash_bytes=windowed.image_flash_bytes if windowed is not None else 0,
        frame_saving=(round(w_frame / run.frame_instructions, 2)
                      if w_frame and run.frame_instructions else float("nan")),
        **_peer_fields(run, peer))


def _peer_fields(run: StreamRun, peer: PeerRun | None) -> dict[str, Any]:
    """The StreamRow fields of the peer's streamed run (empty: not measured)."""
    if peer is None:
        return {}
    return {"peer_hop_instructions": peer.total_instructions,
            "peer_frame_instructions": round(peer.total_instructions / run.hop_frames),
            "peer_sram_bytes": peer.sram_bytes, "peer_flash_bytes": peer.flash_bytes,
            "hop_ratio": round(run.hop_instructions / peer.total_instructions, 3)
            if peer.total_instructions else float("nan"),
            "sram_ratio": round(run.sram_bytes / peer.sram_bytes, 3)
            if peer.sram_bytes else float("nan")}
