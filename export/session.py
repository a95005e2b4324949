"""Persistent inference sessions for the host decoding loop: one model, many invocations.

``open_session(flat, backend)`` returns a :class:`Session` bound by the model's signature
names, whatever the .tflite input order: ``run({"token": ..., "cache_k0": ...})`` returns
``{"logits": ..., "new_k0": ...}`` in the model's own dtypes (int8 for a full-int8 model).
Backends: ``litert`` (ai-edge-litert, TFLite's builtin reference kernels — never XNNPACK, see
PLATFORM.md), ``tflm`` (tflite-micro's Python runtime, one interpreter kept alive), ``c`` (our
generated C built for the host by :mod:`export.host_runner`, one process per call: a hook for
parity runs, not for speed). :class:`KerasSession` runs a float Keras model with the same
interface (the float reference).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np

from export.backends import TFLM_ARENA_BYTES, BackendError
from export.int8.flat import IOTensor, ModelIO, model_io

SESSION_BACKENDS: tuple[str, ...] = ("litert", "tflm", "c")
"""Backends :func:`open_session` accepts."""


class Session(Protocol):
    """A loaded model invoked by input name."""

    io: ModelIO  # signature-bound inputs and outputs

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Invoke once; outputs by signature name."""
        ...


def _checked(io: ModelIO, feeds: Mapping[str, np.ndarray], backend: str) -> list[tuple[IOTensor, np.ndarray]]:
    missing = sorted(set(io.inputs) - set(feeds))
    if missing:
        raise BackendError(f"{backend}: missing inputs {missing} (model inputs: {sorted(io.inputs)})")
    out = []
    for name, spec in io.inputs.items():
        arr = np.asarray(feeds[name])
        if arr.dtype != np.dtype(spec.dtype) or arr.size != int(np.prod(spec.shape)):
            raise BackendError(f"{backend}: input '{name}' expected {spec.dtype} {spec.shape}, "
                               f"found {arr.dtype} {arr.shape}")
        out.append((spec, np.ascontiguousarray(arr.reshape(spec.shape))))
    return out


class LiteRTSession:
    """ai-edge-litert with the builtin reference kernels."""

    def __init__(self, flat: bytes) -> None:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        self.io = model_io(flat, "litert")
        self._interp = Interpreter(model_content=flat,
                                   experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
        self._interp.allocate_tensors()

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Invoke once; outputs by signature name."""
        for spec, arr in _checked(self.io, feeds, "litert"):
            self._interp.set_tensor(spec.tensor, arr)
        self._interp.invoke()
        return {n: np.array(self._interp.get_tensor(s.tensor)) for n, s in self.io.outputs.items()}


class TFLMSession:
    """tflite-micro's Python runtime (reference kernels), one interpreter for every call."""

    def __init__(self, flat: bytes, arena_size: int = TFLM_ARENA_BYTES) -> None:
        from tflite_micro import runtime

        self.io = model_io(flat, "tflm")
        self._interp = runtime.Interpreter.from_bytes(flat, arena_size=arena_size)

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Invoke once; outputs by signature name."""
        for spec, arr in _checked(self.io, feeds, "tflm"):
            self._interp.set_input(arr, spec.position)
        self._interp.invoke()
        return {n: np.array(self._interp.get_output(s.position)) for n, s in self.io.outputs.items()}


class CSession:
    """Our generated C compiled for the host (cached build); one process per invocation."""

    def __init__(self, flat: bytes) -> None:
        from export.host_runner import build_host
        from export.planner.bands import plan_model
        from export.tflite_reader import read_tflite

        self.io = model_io(flat, "c")
        graph, plan, _ = plan_model(read_tflite(flat))
        self._model = build_host(graph, plan)

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Invoke once; outputs by signature name."""
        ordered = sorted(_checked(self.io, feeds, "c"), key=lambda sa: sa[0].position)
        outs = self._model.run([[a for _, a in ordered]])[0]
        return {n: outs[s.position] for n, s in self.io.outputs.items()}


class KerasSession:
    """A float Keras model (batch 1) behind the session interface: the float reference."""

    def __init__(self, model: Any) -> None:
        self._model = model
        ins = {t.name: t for t in model.inputs}
        outs = model.output if isinstance(model.output, dict) else {"output": model.output}
        self.io = ModelIO(
            inputs={n: _float_spec(n, i, t) for i, (n, t) in enumerate(ins.items())},
            outputs={n: _float_spec(n, i, t) for i, (n, t) in enumerate(outs.items())},
        )

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Invoke once; outputs by name (float32)."""
        args = {n: np.asarray(feeds[n]) for n in self.io.inputs}
        res = self._model(next(iter(args.values())) if len(args) == 1 else args, training=False)
        res = res if isinstance(res, dict) else {"output": res}
        return {n: np.asarray(v) for n, v in res.items()}


def _float_spec(name: str, position: int, t: Any) -> IOTensor:
    dtype = str(t.dtype.name if hasattr(t.dtype, "name") else t.dtype)
    return IOTensor(name=name, position=position, tensor=-1, dtype=dtype,
                    shape=tuple(int(d or 1) for d in t.shape), scale=0.0, zero_point=0)


def open_session(flat: bytes, backend: str) -> Session:
    """A persistent session of the .tflite bytes ``flat`` on ``backend``."""
    if backend == "litert":
        return LiteRTSession(flat)
    if backend == "tflm":
        return TFLMSession(flat)
    if backend == "c":
        return CSession(flat)
    raise BackendError(f"unknown session backend '{backend}' (expected one of "
                       f"{', '.join(SESSION_BACKENDS)})")
