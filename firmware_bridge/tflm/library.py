"""Build TFLite Micro + CMSIS-NN as a static library for a board's core, cached by content.

:func:`build_library` compiles :func:`firmware_bridge.tflm.sources.compile_units` with
arm-none-eabi-gcc for the board's CPU flags (``-O2``, the firmware's level; the flags TFLM's
own Cortex-M builds use: no RTTI or exceptions, ``TF_LITE_STATIC_MEMORY``,
``TF_LITE_STRIP_ERROR_STRINGS``, ``CMSIS_NN``, ``KERNELS_OPTIMIZED_FOR_SPEED``) and archives
the objects into ``libtflm-cmsis-nn.a`` (or, for a set of operators, an archive with only the
kernels those need). One exception: ``micro_interpreter_graph.cc`` keeps its
error strings so that its per-operator profiler hook exists (TFLM compiles that hook out with
the strings); with no profiler attached it costs one null test per operator. Cortex-M55 gets
CMSIS-NN's Helium (MVE) paths, selected by CMSIS-NN itself from ``-mcpu=cortex-m55``.

The library depends on the sources, the compiler and the flags only, not on the board's name:
boards with the same core share it (qemu-m7 and stm32f746-disco). Its folder in the cache is
named by the SHA-256 of those inputs (``lib-<cpu>-<16 hex>``); every object and archive is
written through a temporary name and renamed, so an interrupted build is never reused. The whole
library takes about 6 minutes per core on 2 CPUs the first time (the shipped pair's operators
alone about half that); then it is free.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from firmware_bridge.boards.registry import Board
from firmware_bridge.tflm.sources import (
    PeerSources,
    PeerUnavailable,
    cache_root,
    compile_units,
    include_dirs,
)

GCC = "arm-none-eabi-gcc"
GXX = "arm-none-eabi-g++"
LIB_NAME = "libtflm-cmsis-nn.a"
DEFINES = (
    "-DTF_LITE_STATIC_MEMORY", "-DTF_LITE_DISABLE_X86_NEON", "-DCMSIS_NN",
    "-DKERNELS_OPTIMIZED_FOR_SPEED", "-DARM_NN_ENABLE_F16=0", "-DARM_NN_ENABLE_F32=0",
    "-DTF_LITE_MCU_DEBUG_LOG", "-DNDEBUG",
)  # fmt: skip
STRIP = "-DTF_LITE_STRIP_ERROR_STRINGS"
COMMON_FLAGS = ("-O2", "-ffunction-sections", "-fdata-sections", "-fno-unwind-tables")
CXX_FLAGS = ("-std=c++17", "-fno-rtti", "-fno-exceptions", "-fno-threadsafe-statics",
             "-Wno-psabi")  # fmt: skip
C_FLAGS = ("-std=c17",)
PROFILED = "micro_interpreter_graph.cc"
"""The one file compiled with its error strings (its profiler hook needs them)."""

Progress = Callable[[int, int], None]
"""progress(done, total) after each compiled file."""


@dataclass(frozen=True)
class PeerLibrary:
    """A built TFLite Micro + CMSIS-NN archive for one core."""

    archive: Path  # libtflm-cmsis-nn.a
    include_dirs: tuple[Path, ...]  # include path for code that uses it
    defines: tuple[str, ...]  # -D flags code that includes TFLM headers must use
    cpu_flags: tuple[str, ...]  # the core it was built for
    sources: PeerSources  # what it was built from
    key: str  # SHA-256 of sources, compiler and flags (the cache key)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise PeerUnavailable(f"{name} not found on PATH: install gcc-arm-none-eabi and "
                              "libstdc++-arm-none-eabi-dev (make setup)")
    return path


def _check_cxx_headers(cpu_flags: tuple[str, ...]) -> None:
    """Debian's arm-none-eabi-g++ has no C++ headers without libstdc++-arm-none-eabi-dev."""
    probe = subprocess.run([_tool(GXX), *cpu_flags, "-x", "c++", "-E", "-", "-o", os.devnull],
                           input="#include <algorithm>\n", capture_output=True, text=True,
                           check=False)  # fmt: skip
    if probe.returncode != 0:
        raise PeerUnavailable(
            "arm-none-eabi-g++ has no C++ standard headers (<algorithm> not found): install the "
            "Debian package libstdc++-arm-none-eabi-dev (make setup does)")


def _flags_for(path: Path, cpu_flags: tuple[str, ...], incs: list[str]) -> list[str]:
    lang = CXX_FLAGS if path.suffix == ".cc" else C_FLAGS
    strip = () if path.name == PROFILED else (STRIP,)
    return [*cpu_flags, *COMMON_FLAGS, *lang, *DEFINES, *strip, *incs]


def library_key(src: PeerSources, cpu_flags: tuple[str, ...]) -> str:
    """SHA-256 over the sources' digest, the compiler's version, the flags and the file list."""
    version = subprocess.run([_tool(GXX), "--version"], capture_output=True, text=True,
                             check=False).stdout.splitlines()[:1]  # fmt: skip
    h = hashlib.sha256()
    for part in (src.digest, *version, *cpu_flags, *COMMON_FLAGS, *CXX_FLAGS, *C_FLAGS,
                 *DEFINES, STRIP, PROFILED,
                 *(str(p.relative_to(src.root)) for p in compile_units(src))):  # fmt: skip
        h.update(part.encode() + b"\0")
    return h.hexdigest()


def _cpu_name(cpu_flags: tuple[str, ...]) -> str:
    for f in cpu_flags:
        if f.startswith("-mcpu="):
            return f[len("-mcpu="):]
    return "cpu"


def _object_path(folder: Path, src: PeerSources, unit: Path) -> Path:
    rel = unit.relative_to(src.root)
    return folder / "obj" / ("_".join(rel.with_suffix("").parts) + ".o")


def _compile_missing(src: PeerSources, cpu_flags: tuple[str, ...], pairs: list[tuple[Path, Path]],
                     jobs: int, progress: Progress | None) -> None:  # fmt: skip
    """Compile each (source, object) pair; an object appears only once complete (rename)."""
    incs = [f"-I{d}" for d in include_dirs(src)]
    gcc, gxx = _tool(GCC), _tool(GXX)

    def one(pair: tuple[Path, Path]) -> subprocess.CompletedProcess[str]:
        unit, obj = pair
        part = obj.with_name(f"{obj.name}.{os.getpid()}-{threading.get_ident()}.part")
        argv = [gxx if unit.suffix == ".cc" else gcc, *_flags_for(unit, cpu_flags, incs),
                "-c", str(unit), "-o", str(part)]  # fmt: skip
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            os.replace(part, obj)
        return proc

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for done, (pair, proc) in enumerate(zip(pairs, pool.map(one, pairs), strict=True), 1):
            if proc.returncode != 0:
                rel = pair[0].relative_to(src.root)
                raise PeerUnavailable(f"compiling {rel} for {' '.join(cpu_flags)} failed "
                                      f"(exit {proc.returncode}):\n{proc.stderr.strip()[-2000:]}")
            if progress is not None:
                progress(done, len(pairs))


def build_library(board: Board, src: PeerSources, *, ops: Collection[str] | None = None,
                  jobs: int | None = None, progress: Progress | None = None) -> PeerLibrary:
    """The peer library for ``board``'s core, built into the cache unless already there.

    ``ops`` (builtin operator names) limits the kernels compiled to those an interpreter running
    them links (:func:`firmware_bridge.tflm.sources.compile_units`); None builds all of them.
    Objects are cached one by one, so a later, larger set compiles only what it adds.
    """
    cpu_flags = board.cpu_flags
    key = library_key(src, cpu_flags)
    folder = cache_root() / f"lib-{_cpu_name(cpu_flags)}-{key[:16]}"
    units = compile_units(src, ops)
    objs = [_object_path(folder, src, u) for u in units]
    if ops is None:
        archive = folder / LIB_NAME
    else:
        tag = hashlib.sha256("\0".join(sorted(set(ops))).encode()).hexdigest()[:12]
        archive = folder / f"libtflm-cmsis-nn-ops-{tag}.a"
    lib = PeerLibrary(archive, tuple(include_dirs(src)), (*DEFINES, STRIP), cpu_flags, src, key)
    if archive.is_file():
        return lib
    _check_cxx_headers(cpu_flags)
    (folder / "obj").mkdir(parents=True, exist_ok=True)
    todo = [(u, o) for u, o in zip(units, objs, strict=True) if not o.is_file()]
    _compile_missing(src, cpu_flags, todo, jobs or os.cpu_count() or 1, progress)
    partial = archive.with_name(f"{archive.name}.{os.getpid()}.part")
    ar = subprocess.run([_tool("arm-none-eabi-ar"), "rcs", str(partial), *map(str, objs)],
                        capture_output=True, text=True, check=False)  # fmt: skip
    if ar.returncode != 0:
        raise PeerUnavailable(f"arm-none-eabi-ar failed: {ar.stderr.strip()}")
    os.replace(partial, archive)
    return lib
