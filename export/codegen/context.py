"""What a per-operator render function sees, and what it returns."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from export.codegen.cformat import C_TYPES
from export.ir import Graph, Operator, Tensor
from export.planner.aliasing import contiguous_strides as strides  # row-major element strides

MAX_DIMS = 6
"""Rank of the kernels' padded shapes (FE_MAX_DIMS)."""


@dataclass(frozen=True)
class Rendered:
    """C text for one operator."""

    decls: tuple[str, ...]  # file-scope declarations (const parameter structs, tables)
    body: tuple[str, ...]  # statements inside ``invoke``, in order
    # constant tensors this operator reads only where FE_CONV_WIDE is 0 (it links a re-laid
    # copy otherwise): their arrays are declared under ``#if !FE_CONV_WIDE`` unless another
    # operator reads them unconditionally
    narrow_only: tuple[int, ...] = ()


@dataclass(frozen=True)
class OpContext:
    """One operator plus the name and storage of every tensor it touches."""

    graph: Graph  # the whole graph
    op: Operator  # the operator being rendered
    prefix: str  # C identifier prefix of the model (e.g. "encoder")
    storage: Mapping[int, str]  # tensor index -> C byte-pointer expression (arena, persistent, const)
    scratch: str | None = None  # C byte-pointer expression of the op's planned scratch, if any
    aliased: bool = False  # the plan made output 0 an alias of input 0 (a view, or an in-place op)

    @property
    def where(self) -> str:
        """``operator 7 FULLY_CONNECTED`` for messages."""
        return f"{self.graph.name}: operator {self.op.index} {self.op.op}"

    def inp(self, i: int) -> Tensor | None:
        """Input ``i`` (None when omitted or absent)."""
        if i >= len(self.op.inputs) or self.op.inputs[i] < 0:
            return None
        return self.graph.tensors[self.op.inputs[i]]

    def need(self, i: int) -> Tensor:
        """Input ``i``, which must be present."""
        t = self.inp(i)
        if t is None:
            from export.codegen import CodegenError

            raise CodegenError(f"{self.where}: input {i} is missing")
        return t

    def out(self, i: int = 0) -> Tensor:
        """Output ``i``."""
        return self.graph.tensors[self.op.outputs[i]]

    def const(self, i: int) -> np.ndarray:
        """Input ``i`` as a constant array (shapes, axes, permutations, paddings)."""
        t = self.need(i)
        if not t.is_constant:
            from export.codegen import CodegenError

            raise CodegenError(f"{self.where}: input {i} tensor {t.index} '{t.name}' must be a "
                               f"constant (found a run-time tensor)")
        return t.numpy()

    def ptr(self, t: Tensor | None, *, const: bool = False) -> str:
        """Typed C pointer expression of tensor ``t`` (``NULL`` for an omitted input)."""
        if t is None:
            return "NULL"
        qual = "const " if const or t.is_constant else ""
        return f"({qual}{C_TYPES[t.dtype]} *){self.storage[t.index]}"

    def name(self, what: str) -> str:
        """A file-unique C identifier for this operator's ``what``."""
        return f"{self.prefix}_op{self.op.index}_{what}"


RenderFn = Callable[[OpContext], Rendered]
"""A per-operator render function."""


def padded(shape: tuple[int, ...], rank: int = MAX_DIMS) -> list[int]:
    """``shape`` padded on the left with 1s to ``rank`` dimensions."""
    return [1] * (rank - len(shape)) + list(shape)


def broadcast_strides(in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> list[int]:
    """Element strides of ``in_shape`` walked over ``out_shape`` (0 on broadcast dims)."""
    ins, outs = padded(in_shape), padded(out_shape)
    st = strides(ins)
    return [0 if (i == 1 and o != 1) else s for i, o, s in zip(ins, outs, st, strict=True)]


def merge_walk(dims: list[int], in_stride: list[int],
               out_stride: list[int]) -> tuple[list[int], list[int], list[int]]:
    """A walk over ``dims`` (outermost first) with two stride lists, with size-1 dimensions
    dropped and a dimension merged into the next one where both sides step through them as one
    (stride = next stride * next size), so a kernel's innermost runs are as long as the layouts
    allow; the walk order is unchanged. At least one dimension is returned."""
    rows: list[list[int]] = []  # [dim, in_stride, out_stride], outermost first
    for d, i, o in zip(dims, in_stride, out_stride, strict=True):
        if d == 1:
            continue
        if rows and rows[-1][1] == i * d and rows[-1][2] == o * d:
            rows[-1] = [rows[-1][0] * d, i, o]
        else:
            rows.append([d, i, o])
    rows = rows or [[1, 0, 0]]
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


def bcast_fields(a: Tensor, b: Tensor, out: Tensor) -> dict[str, list[int]]:
    """The ``fe_bcast`` fields of a binary elementwise op, with mergeable dimensions merged.

    Dimensions of size 1 are dropped and a dimension is merged into the next one when both
    inputs walk them as one (stride = next stride * next size, 0 for broadcast on both), so
    the kernels' innermost loop runs over the longest contiguous or broadcast run (a same-shape
    ADD of [1, 10, 65, 16] becomes one row of 10400). The walk order is unchanged.
    """
    dims, s1, s2 = merge_walk(padded(out.shape), broadcast_strides(a.shape, out.shape),
                              broadcast_strides(b.shape, out.shape))
    pad = MAX_DIMS - len(dims)
    return {"dims": [1] * pad + dims, "stride1": [0] * pad + s1, "stride2": [0] * pad + s2}
