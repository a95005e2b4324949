"""A small graph IR for int8 models: what the .tflite reader produces and the planner and the
code generator consume.

Everything here is a frozen dataclass; a :class:`Graph` is a plain value that passes through
``read_tflite(path) -> Graph``, ``plan_memory(graph) -> MemoryPlan`` and
``emit_c(graph, plan) -> dict[str, str]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from edge.errors import FoleyEdgeError

DTYPE_BYTES: Mapping[str, int] = MappingProxyType(
    {"int8": 1, "uint8": 1, "bool": 1, "int16": 2, "float16": 2, "int32": 4, "float32": 4, "int64": 8}
)
"""Bytes per element of every dtype the IR can carry."""


class IRError(FoleyEdgeError, ValueError):
    """A graph is malformed or uses something the IR cannot represent."""


@dataclass(frozen=True)
class Quantization:
    """Affine quantization: real = scale * (q - zero_point)."""

    scale: tuple[float, ...]  # one per tensor, or one per channel along `axis`
    zero_point: tuple[int, ...]  # same length as scale
    axis: int = 0  # quantized dimension for per-channel parameters

    @property
    def per_channel(self) -> bool:
        """True when there is more than one (scale, zero_point) pair."""
        return len(self.scale) > 1


@dataclass(frozen=True)
class Tensor:
    """One tensor of the graph: an activation, a constant or persistent (variable) state."""

    index: int  # position in Graph.tensors (the .tflite tensor index)
    name: str  # the name stored in the model
    shape: tuple[int, ...]  # static shape; the batch dimension is 1
    dtype: str  # a key of DTYPE_BYTES
    quant: Quantization | None = None  # None for float / unquantized tensors
    data: bytes | None = field(default=None, repr=False)  # constant payload (weights), else None
    is_variable: bool = False  # persistent state that outlives one invoke (e.g. a KV cache)

    @property
    def is_constant(self) -> bool:
        """True for weights and other tensors whose value is fixed in the model."""
        return self.data is not None

    @property
    def num_elements(self) -> int:
        """Product of the shape (1 for scalars)."""
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        """Size in bytes of the tensor's payload."""
        return self.num_elements * DTYPE_BYTES[self.dtype]

    def numpy(self) -> np.ndarray:
        """The constant payload as an array of ``shape`` and ``dtype``."""
        if self.data is None:
            raise IRError(f"tensor {self.index} '{self.name}' is not a constant")
        return np.frombuffer(self.data, dtype=np.dtype(self.dtype)).reshape(self.shape)


@dataclass(frozen=True)
class Operator:
    """One operator invocation."""

    index: int  # position in the model's execution order
    op: str  # builtin name as in the TFLite schema, e.g. "FULLY_CONNECTED", "BATCH_MATMUL"
    inputs: tuple[int, ...]  # tensor indices; -1 marks an omitted optional input
    outputs: tuple[int, ...]  # tensor indices
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))  # builtin options, snake_case keys


@dataclass(frozen=True)
class Graph:
    """One subgraph of a model: tensors, operators in the model's order, inputs and outputs."""

    name: str  # model / subgraph name (for messages and generated identifiers)
    tensors: tuple[Tensor, ...]  # indexed by Tensor.index
    operators: tuple[Operator, ...]  # the model's own execution order
    inputs: tuple[int, ...]  # tensor indices of the subgraph inputs, in model order
    outputs: tuple[int, ...]  # tensor indices of the subgraph outputs, in model order
    metadata: Mapping[str, bytes] = field(default_factory=lambda: MappingProxyType({}), repr=False)  # model metadata buffers by name

    def tensor(self, i: int) -> Tensor:
        """The tensor with index ``i`` (raises :class:`IRError` when out of range)."""
        if not 0 <= i < len(self.tensors):
            raise IRError(f"tensor index {i} is outside range 0 to {len(self.tensors) - 1}")
        return self.tensors[i]

    def producers(self) -> dict[int, int]:
        """Map tensor index -> index of the operator that writes it."""
        return {t: op.index for op in self.operators for t in op.outputs}

    def consumers(self) -> dict[int, list[int]]:
        """Map tensor index -> indices of the operators that read it, in order."""
        out: dict[int, list[int]] = {}
        for op in self.operators:
            for t in op.inputs:
                if t >= 0:
                    out.setdefault(t, []).append(op.index)
        return out
