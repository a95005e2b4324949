"""Write a memory plan into a model's ``OfflineMemoryAllocation`` metadata (PLANNED.tflite).

Format (TFLM ``micro_allocation_info``): a metadata entry named "OfflineMemoryAllocation" whose
buffer holds int32 little-endian ``[version=0, subgraphs, n_tensors, offset_0 ... offset_n-1]``;
an offset is relative to the start of TFLM's non-persistent arena, ``-1`` lets TFLM plan that
tensor itself. Arena tensors get the plan's offsets (views and in-place outputs share their
root's offset; TFLM's RESHAPE skips its copy when input and output coincide); persistent tensors
are placed after the arena at ``arena_bytes + persistent offset``; constants get -1.

The offsets are only valid for the plan's execution order, so the operators are rewritten in
that order (TFLM runs a subgraph's operators in stored order).

Steps: unpack the flatbuffer (object API), reorder the operators, add or replace the buffer and
the metadata entry, pack it again. Complexity O(model size).
"""

from __future__ import annotations

import numpy as np
from ai_edge_litert import schema_py_generated as fb

from export.ir import Graph
from export.planner.plan import MemoryPlan
from export.tflm import TflmError

METADATA_NAME = "OfflineMemoryAllocation"
"""TFLM's metadata key for offline planned offsets."""


def offline_offsets(graph: Graph, plan: MemoryPlan) -> np.ndarray:
    """Per-tensor int32 offsets for TFLM (-1: let TFLM plan it)."""
    out = np.full(len(graph.tensors), -1, dtype=np.int32)
    for t, off in plan.tensor_offsets.items():
        out[t] = off
    for t, off in plan.persistent_offsets.items():
        out[t] = plan.arena_bytes + off
    for t in graph.tensors:
        if t.is_constant:
            out[t.index] = -1
    return out


def offline_metadata(graph: Graph, plan: MemoryPlan) -> bytes:
    """The metadata buffer: ``[0, 1, n_tensors, offsets...]`` as little-endian int32."""
    offsets = offline_offsets(graph, plan)
    head = np.array([0, 1, len(offsets)], dtype=np.int32)
    return np.concatenate([head, offsets]).astype("<i4").tobytes()


def write_offline_plan(model: bytes, graph: Graph, plan: MemoryPlan) -> bytes:
    """``model`` with ``plan`` stored as its OfflineMemoryAllocation metadata (one subgraph)."""
    import flatbuffers

    m = fb.ModelT.InitFromPackedBuf(model, 0)
    if len(m.subgraphs or []) != 1:
        raise TflmError(f"offline plan: expected a model with 1 subgraph, found {len(m.subgraphs or [])}")
    n = len(m.subgraphs[0].tensors or [])
    if n != len(graph.tensors):
        raise TflmError(f"offline plan: the model has {n} tensors, the graph {len(graph.tensors)}")
    ops = m.subgraphs[0].operators or []
    if sorted(plan.order) != list(range(len(ops))):
        raise TflmError(f"offline plan: order is not a permutation of the model's {len(ops)} operators")
    m.subgraphs[0].operators = [ops[k] for k in plan.order]  # TFLM runs the planned order
    buf = fb.BufferT()
    buf.data = np.frombuffer(offline_metadata(graph, plan), dtype=np.uint8).copy()
    m.buffers = [*(m.buffers or []), buf]
    entries = [e for e in (m.metadata or []) if _name(e) != METADATA_NAME]
    entry = fb.MetadataT()
    entry.name = METADATA_NAME
    entry.buffer = len(m.buffers) - 1
    m.metadata = [*entries, entry]
    builder = flatbuffers.Builder(len(model) + 4096)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _name(entry: fb.MetadataT) -> str:
    return entry.name.decode() if isinstance(entry.name, bytes) else str(entry.name)
