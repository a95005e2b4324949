"""Run generated C step by step with its persistent area kept between steps (KV caches).

``build_stateful_host(graph, plan, *, prefix) -> StatefulHostModel`` compiles the model with
the stateful harness (``host_state_main.c.j2``); ``with model.open() as s: s.step(inputs,
patches)`` runs one invocation in a long-lived process. ``inputs`` are the model inputs that
are not states; ``patches`` are ``(state index, byte offset, bytes)`` written through
``{prefix}_state(k)`` before the step, exactly as firmware updates a cache row in place.
"""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np

from export.codegen import emit_c
from export.host_runner import HostRunError, TensorSpec, compile_sources, sample_bytes, tensor_specs
from export.ir import Graph
from export.planner.plan import MemoryPlan


@dataclass(frozen=True)
class StateSpec:
    """One persistent tensor as the generated API numbers it."""

    index: int  # tensor index in the graph
    name: str  # tensor name ({prefix}_state_find finds it)
    nbytes: int  # size in bytes


@dataclass(frozen=True)
class StatefulHostModel:
    """A compiled stateful host binary."""

    exe: Path  # the harness executable
    inputs: tuple[TensorSpec, ...]  # model inputs that are not states, in model order
    outputs: tuple[TensorSpec, ...]  # model outputs in order
    states: tuple[StateSpec, ...]  # persistent tensors, in the generated API's order

    def open(self) -> HostSession:
        """Start the harness process (use as a context manager)."""
        return HostSession(self)


class HostSession:
    """A running stateful harness; the persistent area lives as long as the process."""

    def __init__(self, model: StatefulHostModel) -> None:
        self.model = model
        self.proc = subprocess.Popen([str(model.exe)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.steps = 0

    def __enter__(self) -> HostSession:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """End the process (closing stdin is its end-of-input)."""
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)
        for f in (self.proc.stdout, self.proc.stderr):
            if f:
                f.close()

    def _patch_bytes(self, patches: Sequence[tuple[int, int, bytes]]) -> bytes:
        parts = [struct.pack("<I", len(patches))]
        for k, off, data in patches:
            if not 0 <= k < len(self.model.states):
                raise HostRunError(f"patch state {k} is outside range 0 to {len(self.model.states) - 1}")
            if off < 0 or off + len(data) > self.model.states[k].nbytes:
                raise HostRunError(f"patch of {len(data)} bytes at offset {off} does not fit state "
                                   f"{k} '{self.model.states[k].name}' "
                                   f"({self.model.states[k].nbytes} bytes)")
            parts.append(struct.pack("<III", k, off, len(data)) + bytes(data))
        return b"".join(parts)

    def step(self, inputs: Sequence[np.ndarray],
             patches: Sequence[tuple[int, int, bytes]] = ()) -> list[np.ndarray]:
        """Apply ``patches`` to the states, fill the other inputs, invoke; the outputs."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        payload = self._patch_bytes(patches) + sample_bytes(self.model.inputs, inputs, self.steps)
        self.proc.stdin.write(payload)
        self.proc.stdin.flush()
        outs = []
        for spec in self.model.outputs:
            n = int(np.prod(spec.shape, dtype=np.int64)) * np.dtype(spec.dtype).itemsize
            data = self.proc.stdout.read(n)
            if len(data) != n:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise HostRunError(f"{self.model.exe}: step {self.steps}: expected {n} output "
                                   f"bytes, got {len(data)} (exit {self.proc.poll()}): {err}")
            outs.append(np.frombuffer(data, dtype=spec.dtype).reshape(spec.shape).copy())
        self.steps += 1
        return outs


def build_stateful_host(graph: Graph, plan: MemoryPlan, *, prefix: str = "model") -> StatefulHostModel:
    """Generate and compile (or reuse) the stateful harness of ``graph`` under ``plan``."""
    exe = compile_sources(emit_c(graph, plan, prefix=prefix), prefix=prefix,
                          harness_template="host_state_main.c.j2")
    pers = plan.state_tensors
    states = tuple(StateSpec(t, graph.tensors[t].name, graph.tensors[t].nbytes) for t in pers)
    return StatefulHostModel(exe=exe, inputs=tensor_specs(graph, tuple(i for i in graph.inputs if i not in pers)),
                             outputs=tensor_specs(graph, graph.outputs), states=states)
