"""Compile generated C + the kernel library with the host gcc and run it on numpy inputs.

``build_host(graph, plan, *, prefix) -> HostModel`` writes ``emit_c``'s sources and a small
stdin/stdout harness into a cache folder named by the SHA-256 of everything compiled (sources,
kernels, flags), compiles once, and reuses the binary on later calls. ``HostModel.run(samples)``
pipes any number of samples through one process, so a test compiles once per model and runs
many inputs. Build flags: ``-std=c99 -O2 -Wall -Wextra -Werror -ffp-contract=off``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.errors import FoleyEdgeError
from export.codegen import KERNEL_DIR, emit_c
from export.codegen.cformat import environment
from export.ir import Graph
from export.planner.plan import MemoryPlan

HOST_CFLAGS: tuple[str, ...] = ("-std=c99", "-O2", "-Wall", "-Wextra", "-Werror",
                                "-ffp-contract=off")
"""Flags of every host build (warnings are errors; no FMA contraction)."""


class HostRunError(FoleyEdgeError, RuntimeError):
    """The generated C failed to compile or to run on the host."""


@dataclass(frozen=True)
class TensorSpec:
    """dtype and shape of one model input or output."""

    name: str  # tensor name in the model
    dtype: str  # numpy dtype name
    shape: tuple[int, ...]  # static shape


@dataclass(frozen=True)
class HostModel:
    """A compiled host binary of one generated model."""

    exe: Path  # the harness executable
    inputs: tuple[TensorSpec, ...]  # model inputs in order
    outputs: tuple[TensorSpec, ...]  # model outputs in order

    def run(self, samples: Sequence[Sequence[np.ndarray]]) -> list[list[np.ndarray]]:
        """Outputs for each sample (a list with one array per model input)."""
        payload = b"".join(sample_bytes(self.inputs, s, k) for k, s in enumerate(samples))
        proc = subprocess.run([str(self.exe)], input=payload, capture_output=True, check=False)
        if proc.returncode != 0:
            raise HostRunError(f"{self.exe} exited with {proc.returncode}: "
                               f"{proc.stderr.decode(errors='replace').strip()}")
        per = [int(np.prod(o.shape, dtype=np.int64)) * np.dtype(o.dtype).itemsize for o in self.outputs]
        step = sum(per)
        if len(proc.stdout) != step * len(samples):
            raise HostRunError(f"{self.exe} wrote {len(proc.stdout)} bytes, expected "
                               f"{step * len(samples)} for {len(samples)} samples")
        results = []
        for k in range(len(samples)):
            pos, outs = k * step, []
            for spec, n in zip(self.outputs, per, strict=True):
                outs.append(np.frombuffer(proc.stdout[pos:pos + n], dtype=spec.dtype)
                            .reshape(spec.shape).copy())
                pos += n
            results.append(outs)
        return results


def sample_bytes(specs: Sequence[TensorSpec], sample: Sequence[np.ndarray], k: int) -> bytes:
    if len(sample) != len(specs):
        raise HostRunError(f"sample {k}: expected {len(specs)} inputs, found {len(sample)}")
    parts = []
    for spec, arr in zip(specs, sample, strict=True):
        a = np.asarray(arr)
        if a.dtype != np.dtype(spec.dtype) or a.size != int(np.prod(spec.shape, dtype=np.int64)):
            raise HostRunError(f"sample {k}: input '{spec.name}' expected {spec.dtype} "
                               f"{spec.shape}, found {a.dtype} {a.shape}")
        parts.append(np.ascontiguousarray(a).tobytes())
    return b"".join(parts)


def cache_root() -> Path:
    """Folder of cached host builds: ``$FOLEY_EDGE_CACHE/host`` or the temp dir."""
    base = os.environ.get("FOLEY_EDGE_CACHE")
    return (Path(base) if base else Path(tempfile.gettempdir()) / "foley-edge") / "host"


def _run_gcc(cmd: list[str], where: Path) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise HostRunError(f"gcc failed on the generated model ({where}):\n{proc.stderr[-4000:]}")


def _gcc() -> str:
    gcc = shutil.which("gcc")
    if gcc is None:
        raise HostRunError("gcc not found on PATH (needed by the c backend)")
    return gcc


def kernel_library(extra_flags: Sequence[str] = ()) -> Path:
    """The kernel library compiled once per (sources, flags) into a cached ``libfe.a``."""
    kernels = sorted(KERNEL_DIR.glob("*.[ch]"))
    h = hashlib.sha256(" ".join((*HOST_CFLAGS, *extra_flags)).encode())
    for k in kernels:
        h.update(k.name.encode() + b"\0" + k.read_bytes())
    out = cache_root() / f"kernels-{h.hexdigest()[:20]}"
    lib = out / "libfe.a"
    if lib.exists():
        return lib
    tmp = Path(tempfile.mkdtemp(prefix="kernels-", dir=_mkdir(cache_root())))
    objs = []
    for k in kernels:
        if k.suffix == ".c":
            objs.append(str(tmp / f"{k.stem}.o"))
            _run_gcc([_gcc(), *HOST_CFLAGS, *extra_flags, f"-I{KERNEL_DIR}", "-c", str(k),
                      "-o", objs[-1]], tmp)
    ar = shutil.which("ar") or "ar"
    _run_gcc([ar, "rcs", str(tmp / "libfe.a"), *objs], tmp)
    _publish(tmp, out)
    return lib


def compile_sources(files: dict[str, str], *, prefix: str, extra_flags: Sequence[str] = (),
                    harness_template: str = "host_main.c.j2") -> Path:
    """Compile generated ``files`` + harness, link the cached kernel library; the binary.

    Cached by the content hash of the sources, the kernels and the flags.
    """
    p = prefix.rstrip("_")
    harness = environment().get_template(harness_template).render(p=p, P=p.upper())
    lib = kernel_library(extra_flags)
    h = hashlib.sha256(lib.parent.name.encode())
    for name in sorted(files):
        h.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    h.update(harness.encode() + " ".join((*HOST_CFLAGS, *extra_flags)).encode())
    out = cache_root() / h.hexdigest()[:20]
    exe = out / "runner"
    if exe.exists():
        return exe
    tmp = Path(tempfile.mkdtemp(prefix="build-", dir=_mkdir(cache_root())))
    for name, text in {**files, "main.c": harness}.items():
        (tmp / name).write_text(text)
    sources = [str(tmp / n) for n in (*files, "main.c") if n.endswith(".c")]
    _run_gcc([_gcc(), *HOST_CFLAGS, *extra_flags, f"-I{KERNEL_DIR}", f"-I{tmp}", *sources,
              str(lib), "-lm", "-o", str(tmp / "runner")], tmp)
    _publish(tmp, out)
    return exe


def _publish(tmp: Path, out: Path) -> None:
    """Rename the finished build folder into place (another process may have won the race)."""
    try:
        os.replace(tmp, out)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def tensor_specs(graph: Graph, idx: tuple[int, ...]) -> tuple[TensorSpec, ...]:
    return tuple(TensorSpec(graph.tensors[i].name, graph.tensors[i].dtype, graph.tensors[i].shape)
                 for i in idx)


def build_host(graph: Graph, plan: MemoryPlan, *, prefix: str = "model") -> HostModel:
    """Generate, compile (or reuse) and describe the host binary of ``graph`` under ``plan``."""
    exe = compile_sources(emit_c(graph, plan, prefix=prefix), prefix=prefix)
    return HostModel(exe=exe, inputs=tensor_specs(graph, graph.inputs), outputs=tensor_specs(graph, graph.outputs))
