"""Where the TFLite Micro + CMSIS-NN sources come from, and which of their files to compile.

The peer runtime is built from source, offline, from a folder laid out like the pinned
tarball of ``../shared/third_party/`` (``tflite-micro/``, ``cmsis-nn/``, ``flatbuffers/``,
``gemmlowp/``, ``ruy/``). :func:`locate_sources` looks, in order, at

1. ``$FOLEY_EDGE_TFLM_SRC``: such a folder, or such a ``.tar.xz``, named by the user;
2. ``shared/third_party/tflm-cmsis-nn-src.tar.xz`` beside the repository (this project's
   checkouts have it).

A tarball is unpacked once into the cache (``$FOLEY_EDGE_CACHE/tflm`` or
``~/.cache/foley-edge/tflm``), into a folder named by the tarball's SHA-256, through a temporary
folder renamed at the end (an interrupted unpack leaves nothing that looks finished). Nothing is
ever written into the repository or the source folder.

:func:`compile_units` lists what TFLite Micro's own Makefile would compile for a Cortex-M with
``OPTIMIZED_KERNEL_DIR=cmsis_nn``, without running that Makefile (it downloads at parse time):
the interpreter core (``tensorflow/lite/micro/*.cc`` and its allocator, planner and bridge
folders, and the shared ``tensorflow/**`` files outside ``lite/micro`` and
``lite/experimental``, minus ``array.cc``, tests and benchmarks), the kernel list of
``tools/make/sources.inc`` with every file that has a namesake in ``kernels/cmsis_nn/``
replaced by it, the Cortex-M ``debug_log.cc``, and CMSIS-NN's int8/int16 sources (its f16/f32
files and float tables left out). The signal-processing kernels are left out (they need
kissfft, which is not pinned here, and no int8 model uses them).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from firmware_bridge.errors import BoardError

SRC_ENV = "FOLEY_EDGE_TFLM_SRC"
"""Environment variable naming a source folder (or .tar.xz) laid out like the pinned tarball."""

CACHE_ENV = "FOLEY_EDGE_CACHE"
"""Environment variable naming the cache root (default ``~/.cache/foley-edge``)."""

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_TARBALL = REPO_ROOT.parent / "shared" / "third_party" / "tflm-cmsis-nn-src.tar.xz"
"""Where this project's checkouts keep the pinned sources."""

LAYOUT = ("tflite-micro", "cmsis-nn", "flatbuffers", "gemmlowp", "ruy")
"""The top-level folders a source tree must have."""

PINS = (
    "tflite-micro: github.com/tensorflow/tflite-micro commit 90b983c2b3f1480642e040bbd2ddb37b998f3424",
    "cmsis-nn: github.com/ARM-software/CMSIS-NN commit 4ab83cc3cc98fb85ed6dafb55e8ca02f1628dcae",
    "flatbuffers: github.com/google/flatbuffers tag v25.9.23 (include/, with TFLM's "
    "tools/make/flatbuffers.patch applied)",
    "gemmlowp: github.com/google/gemmlowp commit 719139ce755a0f31cbf1c37f7f98adcc7fc9f425",
    "ruy: github.com/google/ruy commit d37128311b445e758136b8602d1bbd2a755e115d",
)  # fmt: skip
"""The upstream pins of each folder (TFLM's own third_party_downloads.inc)."""

MICRO = "tflite-micro/tensorflow/lite/micro"
_KERNEL_LINE = re.compile(r"\$\(TENSORFLOW_ROOT\)(tensorflow/lite/micro/kernels/\w+\.cc)")
_REGISTRATION = re.compile(r"^TFLMRegistration\s+\*?\s*Register_(\w+)\s*\(\s*\)\s*\{", re.M)


class PeerUnavailable(BoardError):
    """The TFLite Micro + CMSIS-NN sources (or their toolchain) are not there."""


@dataclass(frozen=True)
class PeerSources:
    """An unpacked, checked source tree of the peer runtime."""

    root: Path  # folder holding tflite-micro/, cmsis-nn/, flatbuffers/, gemmlowp/, ruy/
    digest: str  # SHA-256 (hex) of the tarball, or of the tree's file names and contents
    origin: str  # where it came from (tarball or folder path), for messages and reports


def cache_root() -> Path:
    """``$FOLEY_EDGE_CACHE/tflm``, else ``~/.cache/foley-edge/tflm``."""
    base = os.environ.get(CACHE_ENV)
    return (Path(base) if base else Path.home() / ".cache" / "foley-edge") / "tflm"


def missing_message(detail: str) -> str:
    """What is missing and how to provide it, for every command that needs the peer."""
    pins = "\n".join(f"    {p}" for p in PINS)
    return (
        f"TFLite Micro + CMSIS-NN sources not found: {detail}.\n"
        f"  Set {SRC_ENV} to a folder (or a .tar.xz) holding {', '.join(f'{d}/' for d in LAYOUT)}"
        f" from these pins:\n{pins}\n"
        f"  (this project's checkouts read {SHARED_TARBALL})"
    )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for top in LAYOUT:
        for p in sorted(q for q in (root / top).rglob("*") if q.is_file()):
            rel = str(p.relative_to(root)).encode()
            data = p.read_bytes()
            h.update(b"%d\0%s%d\0" % (len(rel), rel, len(data)))
            h.update(data)
    return h.hexdigest()


def _check_layout(root: Path, origin: str) -> None:
    missing = [d for d in LAYOUT if not (root / d).is_dir()]
    if missing:
        raise PeerUnavailable(missing_message(
            f"{origin} has no {', '.join(f'{d}/' for d in missing)}"))
    if not (root / MICRO / "micro_interpreter.cc").is_file():
        raise PeerUnavailable(missing_message(f"{origin}: no {MICRO}/micro_interpreter.cc"))


def _unpack(tarball: Path) -> PeerSources:
    digest = _sha256(tarball)
    dest = cache_root() / f"src-{digest[:16]}"
    if not dest.is_dir():
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".src-", dir=dest.parent))
        try:
            with tarfile.open(tarball, "r:xz") as tar:
                tar.extractall(tmp, filter="data")
            tops = [p for p in tmp.iterdir() if p.is_dir()]
            inner = tops[0] if len(tops) == 1 and not (tmp / LAYOUT[0]).is_dir() else tmp
            _check_layout(inner, str(tarball))
            os.replace(inner, dest)
        except (tarfile.TarError, OSError) as e:
            raise PeerUnavailable(missing_message(f"{tarball} could not be unpacked: {e}")) from e
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    _check_layout(dest, str(tarball))
    return PeerSources(dest, digest, str(tarball))


def locate_sources() -> PeerSources:
    """The peer's sources (see the module docstring); :class:`PeerUnavailable` if absent."""
    named = os.environ.get(SRC_ENV)
    if named:
        path = Path(named).expanduser().resolve()
        if path.is_file():
            return _unpack(path)
        if not path.is_dir():
            raise PeerUnavailable(missing_message(f"{SRC_ENV}={named} does not exist"))
        _check_layout(path, f"{SRC_ENV}={named}")
        return PeerSources(path, _tree_digest(path), str(path))
    if SHARED_TARBALL.is_file():
        return _unpack(SHARED_TARBALL)
    raise PeerUnavailable(missing_message(f"{SRC_ENV} is not set and {SHARED_TARBALL} is absent"))


def peer_missing() -> str | None:
    """Why the peer cannot be built here (no sources, no ``arm-none-eabi-g++``), or None."""
    try:
        locate_sources()
    except PeerUnavailable as e:
        return f"no TFLite Micro sources here: {e}"
    if shutil.which("arm-none-eabi-g++") is None:
        return "arm-none-eabi-g++ not installed (make setup)"
    return None


def _kernel_sources(root: Path) -> list[Path]:
    inc = root / MICRO / "tools" / "make" / "sources.inc"
    try:
        text = inc.read_text()
    except OSError as e:
        raise PeerUnavailable(missing_message(f"cannot read {inc}: {e}")) from e
    block = text.split("MICROLITE_CC_KERNEL_SRCS :=", 1)[-1].split("\n\n", 1)[0]
    names = _KERNEL_LINE.findall(block)
    if not names:
        raise PeerUnavailable(missing_message(f"{inc}: no MICROLITE_CC_KERNEL_SRCS list"))
    out = []
    for rel in names:
        src = root / "tflite-micro" / rel
        optimized = src.parent / "cmsis_nn" / src.name
        out.append(optimized if optimized.is_file() else src)
    return out


def _core_sources(root: Path) -> list[Path]:
    micro = root / MICRO
    core = sorted(micro.glob("*.cc"))
    for sub in ("arena_allocator", "memory_planner", "tflite_bridge"):
        core += sorted((micro / sub).glob("*.cc"))
    shared = [
        p for p in sorted((root / "tflite-micro" / "tensorflow").rglob("*.c*"))
        if p.suffix in (".cc", ".c")
        and not p.is_relative_to(root / "tflite-micro/tensorflow/lite/micro")
        and not p.is_relative_to(root / "tflite-micro/tensorflow/lite/experimental")
        and p.name != "array.cc"
    ]
    drop = ("_test.cc", "benchmark.cc")
    return [p for p in core + shared if not p.name.endswith(drop)]


def _select_kernels(kernels: list[Path], ops: Collection[str]) -> list[Path]:
    """The kernel files an interpreter running ``ops`` links: the files that define
    ``Register_<OP>()`` for those ops and every file that registers none (shared helpers such
    as ``conv_common.cc``, ``kernel_util.cc``). An op no file registers keeps them all."""
    registers = {k: set(_REGISTRATION.findall(k.read_text(errors="replace"))) for k in kernels}
    known = set().union(*registers.values())
    if not set(ops) <= known:
        return kernels
    return [k for k in kernels if not registers[k] or registers[k] & set(ops)]


def compile_units(src: PeerSources, ops: Collection[str] | None = None) -> list[Path]:
    """Every file to compile, in a stable order (see the module docstring); with ``ops``
    (builtin names such as ``CONV_2D``) only the kernels those need."""
    root = src.root
    cmsis = sorted(
        p for p in (root / "cmsis-nn" / "Source").rglob("*.c")
        if not p.name.endswith(("_f16.c", "_f32.c")) and p.name != "arm_nntables_flt.c"
    )
    kernels = _kernel_sources(root)
    if ops is not None:
        kernels = _select_kernels(kernels, ops)
    debug_log = root / MICRO / "cortex_m_generic" / "debug_log.cc"
    return [*_core_sources(root), *kernels, debug_log, *cmsis]


def include_dirs(src: PeerSources) -> list[Path]:
    """The include path of the library and of code that uses it."""
    r = src.root
    return [r / "tflite-micro", r / "gemmlowp", r / "flatbuffers" / "include", r / "ruy",
            r / "cmsis-nn", r / "cmsis-nn" / "Include"]  # fmt: skip
