"""Build a firmware image for a board: arm-none-eabi-gcc, the board's linker script, size.json.

``build_firmware(board, model_dir=..., out_dir=...)`` generates the shared headers
(:mod:`edge.headers`) into ``out_dir/include``, compiles the board layer, the protocol, the
loop and the model with ``-fstack-usage -fcallgraph-info=su``. The model is one of:

* ``model_dir`` None: the no-model build ``model_none.c``;
* an export folder (encoder.tflite + decoder_step.tflite + config.json): the planner and the
  code generator run on both models (:mod:`firmware_bridge.boards.model_sources`, C written to
  ``out_dir/model``), linked with the generic glue ``model_generated.c`` and the int8 kernel
  library ``edge/kernels``; the generated arenas are moved into ``.arena`` and the persistent
  areas into ``.persistent`` (objcopy section renames) so the size report and the guard words
  see them, and the keypoint ring is sized to the model's window; when the model's hop is a
  multiple of the encoder's row strides (and ``stream`` is not turned off, ``--no-stream``) the
  encoder is the STREAMED one (``encoder_stream_invoke`` per hop on the hop's new frames, its
  kept rows in ``.persistent``): the loop is compiled with ``FE_MODEL_STREAMS`` and its ring
  holds one hop of frames instead of the window;
* any other folder: its ``*.c`` (a hand-written model hook, e.g. a test probe) + the kernels.

``runtime="tflm"`` runs the export folder's two models with TensorFlow Lite Micro + CMSIS-NN
instead of the generated C: the same glue drives the same API (``model_sources(...,
runtime="tflm")``: one interpreter per model, our offline memory plan embedded), compiled as
C++ and linked with the peer library for the board's core
(:func:`firmware_bridge.tflm.library.build_library`, cached; only the kernels the two models
use). TFLM's arenas go to ``.arena`` like ours. No static stack bound exists then (the library
has no call-graph records and calls kernels through pointers): the size report says so and the
guard word below the stack still checks the reserve at run time.

It links with the board's ``linker.ld`` (whose regions are capped at the board's budgets) and writes
``firmware.elf``, ``firmware.bin``, ``firmware.map`` and ``size.json`` into ``out_dir``.
Nothing is ever written into the package. A link that overflows a region, or a stack bound
above the stack reserved, raises :class:`BuildError` saying by how many bytes and naming the
largest users.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from edge.data.clip import write_atomic
from edge.headers import write_headers
from firmware_bridge.boards.callgraph import StackBound, read_callgraph, stack_bound
from firmware_bridge.boards.model_sources import PREFIXES, RUNTIMES
from firmware_bridge.boards.registry import FIRMWARE_DIR, Board, get_board
from firmware_bridge.errors import BoardError
from firmware_bridge.tflm.library import CXX_FLAGS, GXX, PeerLibrary, Progress

GCC = "arm-none-eabi-gcc"
KERNELS_DIR = FIRMWARE_DIR.parent / "kernels"
"""The int8 kernel library generated models call (compiled in with any --model)."""
FW_VERSION = "0.1.0"
COMMON_SOURCES = (
    "common/startup.c", "common/semihost.c", "common/guard.c", "common/clock.c",
    "common/din.c", "protocol/fe_proto.c", "main.c",
)  # fmt: skip
NO_MODEL_SOURCE = "model_none.c"
GENERATED_GLUE = "model_generated.c"
C_FLAGS = (
    "-std=c99", "-O2", "-g", "-Wall", "-Wextra", "-Werror", "-ffunction-sections",
    "-fdata-sections", "-fno-common", "-fstack-usage", "-fcallgraph-info=su",
)  # fmt: skip
LINK_FLAGS = ("-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs", "-Wl,--gc-sections")
_OVERFLOW = re.compile(r"region `(\w+)' overflowed by (\d+) bytes")
_LENGTH = re.compile(r"LENGTH\s*=\s*[0-9A-Za-z]+")
FLASH_SECTIONS = (".vectors", ".text", ".ARM.exidx", ".data")
SRAM_SECTIONS = (".data", ".bss", ".persistent", ".arena")
_TOP_USERS = 6
TFLM_DIR = FIRMWARE_DIR / "tflm"
"""The hand-written C++ side of the TFLM runtime (fe_tflm_model.h, fe_tflm_support.cc)."""
NO_BOUND_TFLM = ("TFLite Micro's library has no call-graph records and calls kernels through "
                 "pointers: no static stack bound (the stack guard word still checks it)")


class BuildError(BoardError):
    """The firmware does not compile, link, or fit the board's budget."""


class BudgetError(BuildError):
    """The firmware links only without the board's limits: what it would need."""

    def __init__(self, message: str, *, flash_bytes: int, sram_bytes: int) -> None:
        super().__init__(message)
        self.flash_bytes = flash_bytes  # flash the image needs
        self.sram_bytes = sram_bytes  # static SRAM + the board's stack reserve it needs


@dataclass(frozen=True)
class SizeReport:
    """What a firmware image uses of its board's memory (the content of size.json)."""

    board: str  # board name
    model: str | None  # model folder, None for the no-model build
    flash_bytes: int  # vectors + code + constants + .data initialisers
    flash_budget: int  # bytes of flash the board allows
    static_sram_bytes: int  # .data + .bss + .persistent + .arena (with guard words)
    stack_reserved_bytes: int  # .stack section reserved by the linker script
    sram_bytes: int  # static SRAM + reserved stack
    sram_budget: int  # bytes of SRAM the board allows
    stack_bound_bytes: int  # worst-case stack from -fstack-usage call graph (0 if unknown)
    stack_bounded: bool  # False when recursion / dynamic frames defeat the bound
    stack_path: tuple[str, ...]  # deepest call chain
    arena_bytes: int  # model scratch arena (.arena, without guards)
    persistent_bytes: int  # state kept across hops (.persistent: window, KV caches)
    sections: dict[str, int]  # every allocated section's size
    stream_hop: int = 0  # frames per streamed encoder invoke (the hop); 0: windowed encoder
    stream_state_bytes: int = 0  # streamed: rows the encoder keeps between hops
    stream_note: str = ""  # what streams, or why the encoder is windowed ("" without a model)


@dataclass(frozen=True)
class BuildResult:
    """The files a build produced and its size report."""

    board: Board  # the board built for
    elf: Path  # firmware.elf (what QEMU boots and pyocd flashes)
    bin: Path  # firmware.bin (raw flash image)
    size_json: Path  # size.json (the SizeReport)
    size: SizeReport  # the same numbers in Python


def _run(argv: list[str], what: str) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BuildError(f"{what} failed (exit {proc.returncode}):\n{proc.stderr.strip()}")
    return proc.stdout


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BuildError(f"{name} not found on PATH: install gcc-arm-none-eabi (make setup)")
    return path


def _sources(board: Board, model_dir: Path | None, runtime: str) -> list[Path]:
    srcs = [FIRMWARE_DIR / s for s in COMMON_SOURCES + board.sources]
    if model_dir is None:
        return srcs + [FIRMWARE_DIR / NO_MODEL_SOURCE]
    model_srcs = sorted([*model_dir.glob("*.c"), *model_dir.glob("*.cc")])
    if (model_dir / "fe_model_config.h").is_file():
        model_srcs.append(FIRMWARE_DIR / GENERATED_GLUE)
    if not model_srcs:
        raise BuildError(f"{model_dir}: no .c files: expected the model's generated C sources")
    if runtime == "tflm":
        return srcs + model_srcs + [TFLM_DIR / "fe_tflm_support.cc"]
    kernels = sorted(KERNELS_DIR.glob("*.c"))  # --gc-sections drops the ones not called
    return srcs + kernels + model_srcs


def _includes(board: Board, include_dir: Path, model_dir: Path | None,
              peer: PeerLibrary | None) -> list[str]:  # fmt: skip
    dirs = [include_dir, board.board_dir, FIRMWARE_DIR, FIRMWARE_DIR / "common",
            FIRMWARE_DIR / "protocol"]  # fmt: skip
    if model_dir is not None:
        dirs += [KERNELS_DIR, model_dir]
    if peer is None:
        return [f"-I{d}" for d in dirs]
    # the peer's headers as system headers: -Wextra -Werror apply to our code, not to TFLM's
    return [f"-I{d}" for d in (*dirs, TFLM_DIR)] + [f"-isystem{d}" for d in peer.include_dirs]


def _defines(board: Board, extra: tuple[str, ...]) -> list[str]:
    for d in extra:
        if not re.fullmatch(r"[A-Za-z_]\w*(=[\w.\"-]*)?", d):
            raise BuildError(f"define {d!r}: expected NAME or NAME=VALUE")
    return [
        f'-DFE_FW_VERSION="{FW_VERSION}"',
        f"-DFE_FLASH_BUDGET={board.flash_budget}u",
        f"-DFE_SRAM_BUDGET={board.sram_budget}u",
        *(f"-D{d}" for d in extra),
    ]


def _gemm_defines(src_dir: Path | None) -> tuple[str, ...]:
    """``CG_MAX_K=N`` etc. for the model's GEMM calls (:mod:`export.codegen.kernel_defines`: the
    kernels' stack buffers sized for them), as ``_defines`` takes them; () without a model or
    when its calls cannot be read."""
    from export.codegen.kernel_defines import kernel_defines

    if src_dir is None:
        return ()
    files = {p.name: p.read_text(errors="replace") for p in sorted(src_dir.glob("*.c"))}
    return tuple(d.removeprefix("-D") for d in kernel_defines(files))


def _object_name(src: Path) -> str:
    if src.parent == KERNELS_DIR:
        rel = Path("kernels") / src.name
    elif src.is_relative_to(FIRMWARE_DIR):
        rel = src.relative_to(FIRMWARE_DIR)
    else:
        rel = Path("model") / src.name
    return "_".join(rel.with_suffix("").parts) + ".o"


def _compile(board: Board, srcs: list[Path], flags: list[str], obj_dir: Path,
             peer: PeerLibrary | None = None) -> list[Path]:  # fmt: skip
    gcc = _tool(GCC)
    objs = []
    for src in srcs:
        obj = obj_dir / _object_name(src)
        if src.suffix == ".cc":
            if peer is None:
                raise BuildError(f"{src}: C++ sources build only with --runtime tflm")
            cxx = [f for f in flags if not f.startswith("-std=")]
            argv = [_tool(GXX), *board.cpu_flags, *CXX_FLAGS, *cxx, *peer.defines]
        else:
            argv = [gcc, *board.cpu_flags, *flags]
        _run([*argv, "-c", str(src), "-o", str(obj)], f"compiling {src}")
        objs.append(obj)
    return objs


def _move_model_sections(objs: list[Path], prefixes: tuple[str, ...]) -> None:
    """Put each generated model's arena in .arena and its persistent area in .persistent."""
    objcopy = _tool("arm-none-eabi-objcopy")
    for obj in objs:
        prefix = obj.stem[len("model_"):] if obj.stem.startswith("model_") else None
        if prefix not in prefixes:
            continue
        _run([objcopy, f"--rename-section=.bss.{prefix}_arena=.arena.{prefix}",
              f"--rename-section=.bss.{prefix}_persistent=.persistent.{prefix}",
              str(obj)], f"objcopy {obj.name}")  # fmt: skip


@dataclass(frozen=True)
class _Prepared:
    """The model part of a build."""

    src_dir: Path | None  # folder of the model's sources (None: the no-model build)
    defines: tuple[str, ...] = ()  # -D flags the model needs (ring size, streaming)
    ops: tuple[str, ...] = ()  # builtin operators (what the TFLM library must link)
    stream_hop: int = 0  # streamed encoder's hop, 0 windowed
    state_bytes: int = 0  # streamed encoder's kept rows
    note: str = ""  # what streams or why not


def _prepare_model(model: Path | None, out: Path, runtime: str, stream: bool) -> _Prepared:
    """The folder of sources to compile for ``model``, the -D flags and the operators it needs."""
    from firmware_bridge.boards.model_sources import is_export_folder, model_sources

    if model is None or not is_export_folder(model):
        if runtime != "c":
            raise BuildError(f"--runtime {runtime} needs an export folder (encoder.tflite, "
                             f"decoder_step.tflite, config.json), found {model}")
        return _Prepared(model)
    gen = model_sources(model, runtime=runtime, stream=stream)
    src_dir = out / "model"
    src_dir.mkdir(parents=True, exist_ok=True)
    for stale in (*src_dir.glob("*.[ch]"), *src_dir.glob("*.cc")):
        stale.unlink()
    for name, text in gen.files.items():
        write_atomic(src_dir / name, text.encode())
    defines = (f"FE_WINDOW_MAX_FRAMES={gen.ring_frames}u",
               *(("FE_MODEL_STREAMS",) if gen.stream_hop else ()))
    return _Prepared(src_dir, defines, gen.ops, gen.stream_hop, gen.state_bytes, gen.stream_note)


def _top_users(objs: list[Path], region: str) -> str:
    """The largest symbols of a region over all objects, as 'name (object): N B' lines."""
    ram_types, flash_types = set("bBdD"), set("tTrRdD")
    types = ram_types if region == "RAM" else flash_types
    rows: list[tuple[int, str, str]] = []
    nm = _tool("arm-none-eabi-nm")
    for obj in objs:
        out = _run([nm, "-S", "--size-sort", str(obj)], f"nm {obj.name}")
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 4 and parts[2] in types:
                rows.append((int(parts[1], 16), parts[3], obj.name))
    rows.sort(reverse=True)
    return "; ".join(f"{name} ({obj}): {size} B" for size, name, obj in rows[:_TOP_USERS])


def _link_argv(board: Board, objs: list[Path], elf: Path, lib_dirs: list[Path]) -> list[str]:
    return [_tool(GCC), *board.cpu_flags, *LINK_FLAGS, *(f"-L{d}" for d in lib_dirs),
            "-T", "linker.ld", f"-Wl,--defsym=__stack_size={board.stack_size}",
            f"-Wl,-Map={elf.with_suffix('.map')}", *map(str, objs), "-lm", "-o", str(elf)]  # fmt: skip


def _probe_sizes(board: Board, objs: list[Path], out_dir: Path) -> dict[str, int]:
    """Section sizes from a link whose regions are 64 MB: what the image would need."""
    probe = out_dir / "probe"
    probe.mkdir(exist_ok=True)
    memory = (board.board_dir / "memory.ld").read_text()
    write_atomic(probe / "memory.ld", _LENGTH.sub("LENGTH = 64M", memory).encode())
    elf = probe / "unbounded.elf"
    _run(_link_argv(board, objs, elf, [probe, board.board_dir, FIRMWARE_DIR / "common"]),
         "probe link")  # fmt: skip
    return _section_sizes(elf)


def _link(board: Board, objs: list[Path], out_dir: Path) -> Path:
    elf = out_dir / "firmware.elf"
    argv = _link_argv(board, objs, elf, [board.board_dir, FIRMWARE_DIR / "common"])
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode == 0:
        return elf
    if not _OVERFLOW.search(proc.stderr):
        raise BuildError(f"linking for {board.name} failed:\n{proc.stderr.strip()}")
    need = _probe_sizes(board, objs, out_dir)
    flash = sum(need.get(s, 0) for s in FLASH_SECTIONS)
    sram = sum(need.get(s, 0) for s in SRAM_SECTIONS) + need.get(".stack", 0)
    parts = []
    if flash > board.flash_budget:
        parts.append(
            f"FLASH over the {board.name} budget of {board.flash_budget} B by "
            f"{flash - board.flash_budget} B (needs {flash} B); largest users: "
            f"{_top_users(objs, 'FLASH')}"
        )
    if sram > board.sram_budget:
        parts.append(
            f"SRAM over the {board.name} budget of {board.sram_budget} B by "
            f"{sram - board.sram_budget} B (needs {sram} B, stack reserve {board.stack_size} B "
            f"included); largest users: {_top_users(objs, 'RAM')}"
        )
    raise BudgetError("firmware does not fit: " + " | ".join(parts or [proc.stderr.strip()]),
                      flash_bytes=flash, sram_bytes=sram)


def _section_sizes(elf: Path) -> dict[str, int]:
    out = _run([_tool("arm-none-eabi-size"), "-A", "-d", str(elf)], "arm-none-eabi-size")
    sizes = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith(".") and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    return sizes


def _size_report(
    board: Board, model_dir: Path | None, sections: dict[str, int], bound: StackBound,
    prepared: _Prepared,
) -> SizeReport:
    flash = sum(sections.get(s, 0) for s in FLASH_SECTIONS)
    arena_guards = 16 + 4
    static = sum(sections.get(s, 0) for s in SRAM_SECTIONS)
    stack = sections.get(".stack", 0)
    return SizeReport(
        board=board.name, model=None if model_dir is None else str(model_dir),
        flash_bytes=flash, flash_budget=board.flash_budget, static_sram_bytes=static,
        stack_reserved_bytes=stack, sram_bytes=static + stack, sram_budget=board.sram_budget,
        stack_bound_bytes=bound.bytes, stack_bounded=bound.bounded, stack_path=bound.path,
        arena_bytes=max(0, sections.get(".arena", 0) - arena_guards),
        persistent_bytes=sections.get(".persistent", 0), sections=sections,
        stream_hop=prepared.stream_hop, stream_state_bytes=prepared.state_bytes,
        stream_note=prepared.note,
    )  # fmt: skip


def _check_stack(board: Board, bound: StackBound) -> None:
    if not bound.bounded:
        raise BuildError(f"no stack bound for {board.name}: {bound.problem}")
    if bound.bytes > board.stack_size:
        raise BuildError(
            f"stack bound {bound.bytes} B exceeds the {board.stack_size} B reserved on "
            f"{board.name} by {bound.bytes - board.stack_size} B; deepest path: "
            + " -> ".join(bound.path)
        )


def _peer_library(board: Board, runtime: str, ops: tuple[str, ...],
                  progress: Progress | None) -> PeerLibrary | None:  # fmt: skip
    if runtime == "c":
        return None
    from firmware_bridge.tflm.library import build_library
    from firmware_bridge.tflm.sources import locate_sources

    return build_library(board, locate_sources(), ops=ops, progress=progress)


def build_firmware(
    board: Board | str, *, model_dir: str | os.PathLike[str] | None = None,
    out_dir: str | os.PathLike[str], defines: tuple[str, ...] = (), runtime: str = "c",
    progress: Progress | None = None, stream: bool = True,
) -> BuildResult:  # fmt: skip
    """Compile and link the firmware for ``board``; see the module docstring.

    ``defines`` adds ``-DNAME[=VALUE]`` flags (e.g. a kernel-variant switch for comparisons);
    ``runtime`` is ``"c"`` (the generated C) or ``"tflm"`` (TFLite Micro + CMSIS-NN);
    ``stream=False`` keeps the windowed encoder even where the hop streams (``--no-stream``);
    ``progress(done, total)`` follows the peer library's first compilation (minutes).
    """
    board = get_board(board) if isinstance(board, str) else board
    if runtime not in RUNTIMES:
        raise BuildError(f"runtime {runtime!r}: expected one of {', '.join(RUNTIMES)}")
    model = None if model_dir is None else Path(model_dir).resolve()
    if model is not None and not model.is_dir():
        raise BuildError(f"{model}: model folder not found")
    out = Path(out_dir).resolve()
    obj_dir = out / "obj"
    obj_dir.mkdir(parents=True, exist_ok=True)
    write_headers(out / "include")
    prepared = _prepare_model(model, out, runtime, stream)
    src_dir = prepared.src_dir
    peer = _peer_library(board, runtime, prepared.ops, progress)
    own = {d.split("=")[0] for d in defines}  # the caller's sizes win
    sized = tuple(d for d in (_gemm_defines(src_dir) if runtime == "c" else ())
                  if d.split("=")[0] not in own)
    flags = [*C_FLAGS, *_includes(board, out / "include", src_dir, peer),
             *_defines(board, (*prepared.defines, *sized, *defines))]  # fmt: skip
    for stale in obj_dir.glob("*"):
        stale.unlink()
    objs = _compile(board, _sources(board, src_dir, runtime), flags, obj_dir, peer)
    _move_model_sections(objs, PREFIXES)
    elf = _link(board, objs if peer is None else [*objs, peer.archive], out)
    binary = out / "firmware.bin"
    _run([_tool("arm-none-eabi-objcopy"), "-O", "binary", str(elf), str(binary)], "objcopy")
    bound = stack_bound(read_callgraph(sorted(obj_dir.glob("*.ci"))))
    if peer is not None:
        bound = StackBound(0, False, (), (), NO_BOUND_TFLM)
    report = _size_report(board, model, _section_sizes(elf), bound, prepared)
    size_json = out / "size.json"
    write_atomic(size_json, (json.dumps(asdict(report), indent=2) + "\n").encode())
    if peer is None:
        _check_stack(board, bound)
    return BuildResult(board, elf, binary, size_json, report)
