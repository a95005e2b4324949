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
the metadata entry, pack it again with every buffer's data 16-byte aligned (the schema's
``force_align: 16``, which the generated object API ignores: int32 biases and int8 weights must
stay aligned in flash on Cortex-M). Complexity O(model size).
"""

from __future__ import annotations

import numpy as np
from ai_edge_litert import schema_py_generated as fb

from export.ir import Graph
from export.planner.aliasing import INPLACE_OPS, VIEW_OPS
from export.planner.memory import plan_memory
from export.planner.plan import MemoryPlan
from export.tflm import TflmError

METADATA_NAME = "OfflineMemoryAllocation"
"""TFLM's metadata key for offline planned offsets."""

BUFFER_ALIGNMENT = 16
"""Alignment of every buffer's data in the written flatbuffer (schema.fbs: force_align 16)."""


class _AlignedBufferT(fb.BufferT):  # type: ignore[misc]
    """A ``BufferT`` whose data vector is packed ``BUFFER_ALIGNMENT``-aligned."""

    def Pack(self, builder: object) -> int:  # noqa: N802 - flatbuffers' object-API name
        """Serialise like ``BufferT.Pack``, with the data vector aligned."""
        if self.data is None or len(self.data) == 0:
            return int(super().Pack(builder))
        raw = np.asarray(self.data, dtype=np.uint8).tobytes()
        builder.StartVector(1, len(raw), BUFFER_ALIGNMENT)  # type: ignore[attr-defined]
        builder.head -= len(raw)  # type: ignore[attr-defined]
        builder.Bytes[builder.head:builder.head + len(raw)] = raw  # type: ignore[attr-defined]
        builder.vectorNumElems = len(raw)  # type: ignore[attr-defined]
        data = builder.EndVector()  # type: ignore[attr-defined]
        fb.BufferStart(builder)
        fb.BufferAddData(builder, data)
        fb.BufferAddOffset(builder, self.offset)
        fb.BufferAddSize(builder, self.size)
        return int(fb.BufferEnd(builder))


def _aligned(buf: fb.BufferT) -> _AlignedBufferT:
    out = _AlignedBufferT()
    out.data, out.offset, out.size = buf.data, buf.offset, buf.size
    return out


def tflm_plan(graph: Graph, *, strategy: str = "auto", persistent: tuple[int, ...] = ()) -> MemoryPlan:
    """A plan TFLite Micro's own kernels can run: no partial overlaps, no in-place depthwise.

    Our kernels honour those (their access order is modelled in ``export.planner.overlap``);
    TFLM's reference kernels make no such promise, so its offline plan keeps every output
    apart from its inputs except views and element-wise in-place ops (TFLM runs every TRANSPOSE,
    so none is a strided view).
    """
    return plan_memory(graph, strategy=strategy, persistent=persistent, slides=False,
                       inplace_depthwise=False, grown=False, strided_views=False)


def check_tflm_safe(graph: Graph, plan: MemoryPlan) -> None:
    """Raise :class:`TflmError` if an operator's output shares bytes with one of its inputs in a
    way only our kernels allow (partial overlap, in-place depthwise)."""
    def span(t: int) -> tuple[int, int] | None:
        off = plan.tensor_offsets.get(t)
        return None if off is None else (off, off + graph.tensors[t].nbytes)

    for k in plan.order:
        op = graph.operators[k]
        for o in op.outputs:
            so = span(o)
            for i in (t for t in op.inputs if t >= 0 and not graph.tensors[t].is_constant):
                si = span(i)
                if so is None or si is None or so[1] <= si[0] or si[1] <= so[0]:
                    continue
                same = so[0] == si[0] and (op.op in VIEW_OPS or (
                    op.op in INPLACE_OPS and op.op != "DEPTHWISE_CONV_2D"))
                if not same:
                    raise TflmError(
                        f"offline plan: operator {k} {op.op} writes tensor {o} "
                        f"'{graph.tensors[o].name}' at [{so[0]}, {so[1]}) over its input {i} "
                        f"'{graph.tensors[i].name}' at [{si[0]}, {si[1]}): only the generated C "
                        "runs that safely; plan for TFLM with tflm_plan()")


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
    """``model`` with ``plan`` stored as its OfflineMemoryAllocation metadata (one subgraph).

    The plan must be one TFLM's kernels can run (:func:`tflm_plan`; checked by
    :func:`check_tflm_safe`)."""
    import flatbuffers

    check_tflm_safe(graph, plan)
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
    m.buffers = [_aligned(b) for b in (*(m.buffers or []), buf)]
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
