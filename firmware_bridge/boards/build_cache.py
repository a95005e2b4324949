"""Reuse a firmware build whose inputs have not changed: a content hash over every input.

:func:`cached_build` computes :func:`build_key` — SHA-256 over the board name, the extra
defines, the compiler's version line, every file of the model folder, and every source file
(``.py .c .h .ld .j2``) of the trees a build reads or runs (:data:`SOURCE_TREES`: the firmware,
the kernels, the exporter/planner/code generator, the protocol and shared-constant modules). If
``out_dir/build.key`` holds the same key and the image and size report are there, the build is
loaded instead of redone; otherwise :func:`firmware_bridge.build.build_firmware` runs and the
key is written last (a failed build leaves no key behind, so it is never reused).

Hashing the whole trees over-approximates the inputs (a docstring edit rebuilds): a build is
~10 s, a wrongly reused image would be a silent bug. Cost: reading ~1 MB, well under 0.1 s.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
from pathlib import Path

from edge.data.clip import write_atomic
from firmware_bridge.boards.registry import FIRMWARE_DIR, Board, get_board
from firmware_bridge.build import FW_VERSION, GCC, BuildResult, SizeReport, build_firmware
from firmware_bridge.tflm.library import Progress

REPO_ROOT = FIRMWARE_DIR.parents[1]
SOURCE_TREES = (
    "edge/firmware", "edge/kernels", "edge/headers.py", "edge/vocab.py", "edge/skeleton.py",
    "edge/protocol_spec.py",
    "edge/midi", "edge/model", "export", "firmware_bridge/build.py",
    "firmware_bridge/boards", "firmware_bridge/protocol", "firmware_bridge/tflm",
)  # fmt: skip
SOURCE_SUFFIXES = (".py", ".c", ".h", ".ld", ".j2")
KEY_FILE = "build.key"


def _tree_files(root: Path, rel: str) -> list[Path]:
    path = root / rel
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.suffix in SOURCE_SUFFIXES and p.is_file())


@functools.cache
def compiler_version() -> str:
    """First line of `arm-none-eabi-gcc --version` (part of every build key and search cost
    key; asked once per process)."""
    try:
        done = subprocess.run([GCC, "--version"], capture_output=True, text=True, check=False)
    except OSError:
        return "no compiler"  # build_firmware reports the missing tool itself
    return done.stdout.splitlines()[0] if done.stdout else ""


def build_key(board: Board, model_dir: Path | None, defines: tuple[str, ...] = (),
              runtime: str = "c", stream: bool = True) -> str:  # fmt: skip
    """The SHA-256 (hex) of everything a build of ``board`` with ``model_dir`` depends on
    (under ``runtime="tflm"`` also the peer's sources and library key)."""
    h = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        h.update(f"{label}\0{len(data)}\0".encode())
        h.update(data)

    add("board", board.name.encode())
    add("defines", "\0".join(defines).encode())
    add("compiler", compiler_version().encode())
    add("fw_version", FW_VERSION.encode())
    add("runtime", runtime.encode())
    add("stream", b"1" if stream else b"0")
    if runtime == "tflm":
        from firmware_bridge.tflm.library import library_key
        from firmware_bridge.tflm.sources import locate_sources

        add("peer", library_key(locate_sources(), board.cpu_flags).encode())
    if model_dir is not None:
        for p in sorted(q for q in model_dir.rglob("*") if q.is_file()):
            add(f"model/{p.relative_to(model_dir)}", p.read_bytes())
    for rel in SOURCE_TREES:
        for p in _tree_files(REPO_ROOT, rel):
            add(str(p.relative_to(REPO_ROOT)), p.read_bytes())
    return h.hexdigest()


def _load(board: Board, out: Path) -> BuildResult | None:
    """The build in ``out`` as a BuildResult, or None if a file is missing or unreadable."""
    elf, binary, size_json = out / "firmware.elf", out / "firmware.bin", out / "size.json"
    if not (elf.is_file() and binary.is_file() and size_json.is_file()):
        return None
    try:
        raw = json.loads(size_json.read_text())
        raw["stack_path"] = tuple(raw["stack_path"])
        size = SizeReport(**raw)
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return BuildResult(board, elf, binary, size_json, size)


def cached_build(
    board: Board | str, *, model_dir: str | os.PathLike[str] | None,
    out_dir: str | os.PathLike[str], defines: tuple[str, ...] = (), runtime: str = "c",
    progress: Progress | None = None, stream: bool = True,
) -> tuple[BuildResult, bool]:  # fmt: skip
    """``build_firmware`` unless ``out_dir`` holds a build of the same inputs; (result, reused)."""
    board = get_board(board) if isinstance(board, str) else board
    model = None if model_dir is None else Path(model_dir).resolve()
    out = Path(out_dir).resolve()
    key = build_key(board, model, defines, runtime, stream) if model is None or model.is_dir() else ""
    stamp = out / KEY_FILE
    if key and stamp.is_file() and stamp.read_text().strip() == key:
        loaded = _load(board, out)
        if loaded is not None:
            return loaded, True
    stamp.unlink(missing_ok=True)
    result = build_firmware(board, model_dir=model, out_dir=out, defines=defines,
                            runtime=runtime, progress=progress, stream=stream)
    if key:
        write_atomic(stamp, (key + "\n").encode())
    return result, False
