"""One entry point to run a .tflite on any of three engines, for checks and ``foley-edge infer``.

``run_model(path, inputs, backend)`` runs one invocation; ``run_model_many(path, samples,
backend)`` runs many with one compile / one interpreter. Backends:

- ``c``: our pipeline — ``read_tflite`` -> ``plan_model`` (``plan_memory``, band streaming
  where it pays) -> ``emit_c`` -> host gcc build
  (cached by content hash) -> run.
- ``tflm``: tflite-micro's Python runtime (reference kernels) — the bit-exactness oracle.
- ``litert``: ai-edge-litert with ``OpResolverType.BUILTIN_REF`` (TFLite's reference kernels;
  the default XNNPACK delegate gives wrong int8 results, see PLATFORM.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from edge.errors import FoleyEdgeError

BACKENDS: tuple[str, ...] = ("c", "tflm", "litert")
"""Names accepted by ``backend``."""

TFLM_ARENA_BYTES = 8 << 20
"""Arena given to tflite-micro on the host (generous; the arena size is not measured here)."""


class BackendError(FoleyEdgeError, ValueError):
    """An unknown backend, bad inputs, or an engine that failed."""


def run_model(path: str | Path, inputs: Sequence[np.ndarray], backend: str = "c") -> list[np.ndarray]:
    """Outputs of one invocation of the model at ``path`` on ``backend``."""
    return run_model_many(path, [inputs], backend)[0]


def run_model_many(path: str | Path, samples: Sequence[Sequence[np.ndarray]],
                   backend: str = "c") -> list[list[np.ndarray]]:
    """Outputs of each sample (one array per model input) on ``backend``."""
    path = Path(path)
    if not path.is_file():
        raise BackendError(f"{path}: no such model file")
    if backend == "c":
        return _run_c(path, samples)
    if backend == "tflm":
        return _run_tflm(path, samples)
    if backend == "litert":
        return _run_litert(path, samples)
    raise BackendError(f"unknown backend '{backend}' (expected one of {', '.join(BACKENDS)})")


def _run_c(path: Path, samples: Sequence[Sequence[np.ndarray]]) -> list[list[np.ndarray]]:
    from export.host_runner import build_host
    from export.planner.bands import plan_model
    from export.tflite_reader import read_tflite

    graph, plan, _ = plan_model(read_tflite(path))
    return build_host(graph, plan).run(samples)


def _run_tflm(path: Path, samples: Sequence[Sequence[np.ndarray]]) -> list[list[np.ndarray]]:
    from tflite_micro import runtime

    from export.tflite_reader import read_tflite

    n_out = len(read_tflite(path).outputs)
    interp = runtime.Interpreter.from_bytes(path.read_bytes(), arena_size=TFLM_ARENA_BYTES)
    results = []
    for k, sample in enumerate(samples):
        for i, arr in enumerate(sample):
            try:
                interp.set_input(np.asarray(arr), i)
            except (RuntimeError, ValueError) as e:
                raise BackendError(f"tflm: sample {k} input {i}: {e}") from e
        interp.invoke()
        results.append([np.array(interp.get_output(i)) for i in range(n_out)])
        interp.reset()
    return results


def _run_litert(path: Path, samples: Sequence[Sequence[np.ndarray]]) -> list[list[np.ndarray]]:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(model_path=str(path),
                         experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    ins, outs = interp.get_input_details(), interp.get_output_details()
    results = []
    for k, sample in enumerate(samples):
        if len(sample) != len(ins):
            raise BackendError(f"litert: sample {k}: expected {len(ins)} inputs, found {len(sample)}")
        for d, arr in zip(ins, sample, strict=True):
            interp.set_tensor(d["index"], np.asarray(arr, dtype=d["dtype"]).reshape(d["shape"]))
        interp.invoke()
        results.append([np.array(interp.get_tensor(d["index"])) for d in outs])
    return results
