"""The memory plan: where every tensor of a graph lives, and for how long.

This dataclass is the contract between the planner (``plan_memory(graph) -> MemoryPlan``) and
the code generator (``emit_c(graph, plan)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Buffer:
    """One region of the arena and the tensors that share it over time."""

    offset: int  # byte offset in its area (arena or persistent area), aligned
    size: int  # bytes
    first_op: int  # position in MemoryPlan.order of the first step it must be valid at
    last_op: int  # position in MemoryPlan.order of the last step that reads it


@dataclass(frozen=True)
class MemoryPlan:
    """Execution order and arena layout of one graph."""

    order: tuple[int, ...]  # operator indices in execution order (a topological order)
    tensor_offsets: Mapping[int, int]  # arena tensors (activations, I/O): index -> byte offset in the arena
    persistent_offsets: Mapping[int, int]  # persistent tensors (variables, KV caches, streaming state): index -> offset in the persistent area
    scratch: Mapping[int, Buffer]  # operator index -> kernel scratch buffer in the arena (only ops that need one)
    aliases: Mapping[int, int]  # tensor index -> tensor whose storage it shares (views such as RESHAPE, in-place ops)
    arena_bytes: int  # size of the per-invocation arena: the planned peak
    persistent_bytes: int  # size of the persistent area (state kept across invocations)
    lower_bound_bytes: int  # max over the schedule of the bytes live at once less the overlap each step's slide allows; arena_bytes >= this
    alignment: int = 16  # every offset is a multiple of this
    notes: tuple[str, ...] = field(default=())  # human-readable remarks from the planner
    grown: Mapping[int, int] = field(default_factory=lambda: MappingProxyType({}))  # persistent CONCATENATION output -> its input 0 (a persistent cache), which is the front of the output's block: the concat writes only the other inputs
    live_bytes_bound: int = 0  # max over the schedule of the bytes live at once, no overlap allowed (the classic certificate; slides can beat it)
    buffers: Mapping[int, Buffer] = field(default_factory=lambda: MappingProxyType({}))  # tensor index -> its buffer (lifetime in schedule positions)
    caller_tensors: tuple[int, ...] = ()  # float graph inputs/outputs read from / written to the caller's buffers, in neither area (export.planner.caller_io)

    @property
    def state_tensors(self) -> tuple[int, ...]:
        """Persistent tensors that hold state across invocations, in tensor index order: not
        views of others, not grown concatenation outputs (their extra rows are transient)."""
        return tuple(t for t in sorted(self.persistent_offsets)
                     if t not in self.aliases and t not in self.grown)
