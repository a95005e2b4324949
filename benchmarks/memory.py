"""Memory figure: our planned SRAM vs TFLM's measured arena, the lower bound and no reuse.

For one model: the planner's peak arena and persistent area, the lower bound (most bytes live
at once over the schedule), a no-reuse plan (every storage root and kernel scratch its own
aligned buffer: what planning buys), the generated code's static SRAM on the reference board
(``.data + .bss`` of model + kernels linked alone: arena, persistent area and any other
static), the bench image's call-graph stack bound, and tflite-micro's arena measured with
``print_allocations`` (head + tail). Ratios: SRAM = static SRAM / TFLM arena (target <= 0.35);
peak / lower bound (1.00 on chains, <= 1.05 otherwise); no-reuse / peak.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks import BenchError
from benchmarks.models import BenchModel
from benchmarks.toolchain import Generated, ImageSize


@dataclass(frozen=True)
class MemoryRow:
    """SRAM of one model, ours against the baselines of the same run."""

    model: str  # bench model name
    operators: int  # operators in the graph
    tflite_bytes: int  # size of the .tflite file
    planned_peak_bytes: int  # our arena (planned peak)
    persistent_bytes: int  # our persistent area (KV caches, encoder memory)
    lower_bound_bytes: int  # most bytes live at once in our schedule, less the overlaps slides allow
    live_bytes_bound: int  # most bytes live at once in our schedule (no overlap: the classic bound)
    no_reuse_bytes: int  # arena if every tensor had its own buffer
    static_ram_bytes: int  # .data + .bss of the generated model + kernels on the M7
    stack_bound_bytes: int  # call-graph stack bound of the bench image (0: unknown)
    tflm_total_bytes: int  # tflite-micro arena: head + tail
    tflm_head_bytes: int  # its planned tensors and scratch
    tflm_tail_bytes: int  # its interpreter bookkeeping
    sram_ratio: float  # static_ram_bytes / tflm_total_bytes (target <= 0.35)
    peak_over_lower_bound: float  # planned_peak / lower_bound (slide-aware: can exceed 1)
    peak_over_live_bound: float  # planned_peak / live_bytes_bound (target <= 1.05)
    no_reuse_over_peak: float  # what planning buys
    timeline: tuple[tuple[int, int, int, int], ...]  # buffers (offset, size, first, last)


def no_reuse_bytes(gen: Generated) -> int:
    """Sum of every arena storage root and scratch buffer, each aligned on its own."""
    plan = gen.plan
    a = plan.alignment
    roots = [b for t, b in plan.buffers.items() if t not in plan.aliases]
    return sum(-(-b.size // a) * a for b in (*roots, *plan.scratch.values()))


def _ratio(num: int, den: int) -> float:
    return round(num / den, 4) if den > 0 else float("nan")


def memory_row(model: BenchModel, gen: Generated, size: ImageSize, stack_bound: int) -> MemoryRow:
    """The memory figure of ``model`` (``size``: :func:`benchmarks.toolchain.model_size`)."""
    from export.tflm import TflmError
    from export.tflm.arena import measure_tflm_arena

    data = Path(model.path).read_bytes()
    try:
        tflm = measure_tflm_arena(data)
    except TflmError as e:
        raise BenchError(f"{model.name}: {e}") from e
    plan = gen.plan
    roots = sorted((b.offset, b.size, b.first_op, b.last_op) for t, b in plan.buffers.items()
                   if t not in plan.aliases)
    scratch = sorted((b.offset, b.size, b.first_op, b.last_op) for b in plan.scratch.values())
    nr = no_reuse_bytes(gen)
    return MemoryRow(
        model=model.name, operators=len(gen.graph.operators), tflite_bytes=len(data),
        planned_peak_bytes=plan.arena_bytes, persistent_bytes=plan.persistent_bytes,
        lower_bound_bytes=plan.lower_bound_bytes, live_bytes_bound=plan.live_bytes_bound,
        no_reuse_bytes=nr,
        static_ram_bytes=size.static_ram_bytes, stack_bound_bytes=stack_bound,
        tflm_total_bytes=tflm.total_bytes, tflm_head_bytes=tflm.head_bytes,
        tflm_tail_bytes=tflm.tail_bytes,
        sram_ratio=_ratio(size.static_ram_bytes, tflm.total_bytes),
        peak_over_lower_bound=_ratio(plan.arena_bytes, plan.lower_bound_bytes),
        peak_over_live_bound=_ratio(plan.arena_bytes, plan.live_bytes_bound),
        no_reuse_over_peak=_ratio(nr, plan.arena_bytes),
        timeline=tuple(roots + scratch),
    )
