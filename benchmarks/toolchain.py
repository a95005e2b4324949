"""Generated C for a bench model, and its builds for a board with arm-none-eabi-gcc.

- :func:`generate`: ``read_tflite`` -> ``plan_memory`` (+ ``verify_plan``) -> ``emit_c``.
- :data:`PROBE_FLAGS`: the generated model's per-operator probe macro pointed at
  ``fe_bench_mark``: a tick mark before each operator of ``{p}_invoke`` and after the last
  (the per-operator probe of :mod:`benchmarks.board`), with no edit of the generated text.
- :func:`model_size`: the generated model + the kernels it uses, linked alone with
  ``--gc-sections`` (entry points kept): flash = text + rodata + data, static RAM = data + bss.
- :func:`build_image`: a bootable bench image (board startup + model + bench main) with its
  ``-fcallgraph-info`` stack bound, linked under the board's budgets or, with
  ``emulator_memory=True``, over the memory QEMU maps (:func:`emulator_layout`).

``portable=True`` compiles the kernels with ``-DFE_KERNELS_PORTABLE``: the plain-C path instead
of the ACLE SIMD one (same results, see ``edge/kernels/fe_kernels.h``). No libm is linked: the
generated code and kernels use none.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import BenchError
from benchmarks.models import BenchModel, persistent_inputs
from export.codegen.kernel_defines import kernel_defines

TEMPLATES = Path(__file__).resolve().parent / "templates"
ARM_CFLAGS: tuple[str, ...] = ("-std=c99", "-O2", "-g", "-ffunction-sections", "-fdata-sections",
                               "-fno-common", "-Wall", "-Wextra")
"""Flags of every board build of the bench (the firmware's optimisation level)."""

PROBE_FLAGS: tuple[str, ...] = ("-DFE_OP_PROBE=fe_bench_mark",)
"""Compile flags of the bench image's generated model: ``fe_bench_mark(k)`` before operator k
and ``fe_bench_mark(n)`` after the last (the probe hook of the generated ``model.c``)."""

PREFIX = "bench"
"""Symbol prefix of the generated model in the bench's builds."""

EMULATOR_REGIONS: dict[str, dict[str, tuple[str | None, str]]] = {
    "qemu-m4": {"FLASH": (None, "4M"), "RAM": ("0x21000000", "16M")},  # SSRAM1, PSRAM
    "qemu-m7": {"FLASH": (None, "4M"), "RAM": ("0x60000000", "16M")},  # SSRAM1, PSRAM
    "qemu-m55": {"FLASH": (None, "8M"), "RAM": ("0x70000000", "16M")},  # QSPI, DDR (Secure)
}
"""(origin or None for the board's, length) of the regions of a bench image linked over the
memory QEMU maps rather than the real board's budgets: flash in the boot memory, RAM in the
largest RAM the machine has (mps2-an386: 16 MB PSRAM at 0x21000000; mps2-an500: at 0x60000000;
mps3-an547: DDR). QEMU's RAM timing is uniform, so where the data lies does not change the
instruction counts."""

_OP_COMMENT = re.compile(r"^(\s*)/\* operator \d+: ", re.MULTILINE)


@dataclass(frozen=True)
class Generated:
    """A model run through our pipeline."""

    graph: Any  # export.ir.Graph
    plan: Any  # export.planner.plan.MemoryPlan
    files: dict[str, str]  # emit_c output: file name -> text
    prefix: str  # symbol prefix of the generated API


@dataclass(frozen=True)
class ImageSize:
    """Section totals of a linked ELF."""

    text_bytes: int  # code (and vectors)
    rodata_bytes: int  # constants: weights and operator parameters
    data_bytes: int  # initialised data (in flash and in SRAM)
    bss_bytes: int  # zero-initialised SRAM (the arena and persistent areas among it)

    @property
    def flash_bytes(self) -> int:
        """Bytes the image needs in flash."""
        return self.text_bytes + self.rodata_bytes + self.data_bytes

    @property
    def static_ram_bytes(self) -> int:
        """Bytes of SRAM reserved statically (without the stack)."""
        return self.data_bytes + self.bss_bytes


@dataclass(frozen=True)
class BenchImage:
    """A bootable bench image."""

    elf: Path  # the image
    size: ImageSize  # its sections
    stack_bound_bytes: int  # worst-case stack from the call graph (0 when unbounded)
    ops: int  # operators instrumented
    probe_bytes: int = 0  # SRAM of the bench main's measurement tables (PROBE_TABLES)

    @property
    def model_ram_bytes(self) -> int:
        """Static SRAM without the bench main's measurement tables: what running the model
        reserves (the arena, persistent area, kernel tables, the caller's float buffers, the
        harness's other globals); the tables are the measurement's (4 B an operator mark or a
        hop) and no firmware has them."""
        return self.size.static_ram_bytes - self.probe_bytes


def generate(model: BenchModel) -> Generated:
    """Read, plan (KV caches and encoder memory persistent), verify and emit C for ``model``."""
    from export.codegen import emit_c
    from export.planner.bands import plan_model
    from export.planner.verify import verify_plan
    from export.tflite_reader import read_tflite

    graph = read_tflite(model.path)
    graph, plan, _ = plan_model(graph, persistent=persistent_inputs(graph, model.persistent))
    verify_plan(graph, plan)
    return Generated(graph, plan, emit_c(graph, plan, prefix=PREFIX), PREFIX)


def instrument(model_c: str, prefix: str, n_ops: int) -> str:
    """``model_c`` with ``fe_bench_mark(k)`` before operator k of the invoke body and after it.

    Superseded by :data:`PROBE_FLAGS` (the bench no longer edits the generated text); kept
    while ``tests/benchmarks/test_bench_smoke.py`` still tests it.
    """
    head = f"int {prefix}_invoke(void) {{\n"
    start = model_c.find(head)
    end = model_c.find("\n  return 0;\n}", start)
    if start < 0 or end < 0:
        raise BenchError(f"generated C: expected '{head.strip()}' ... 'return 0;' in "
                         f"{prefix}.c, found none (did the code generator's layout change?)")
    body = model_c[start:end]
    counter = iter(range(n_ops))
    marked = _OP_COMMENT.sub(lambda m: f"{m.group(1)}fe_bench_mark({next(counter)});\n{m.group(0)}",
                             body)
    found = len(_OP_COMMENT.findall(body))
    if found != n_ops:
        raise BenchError(f"generated C: expected {n_ops} '/* operator k: */' markers in "
                         f"{prefix}_invoke, found {found}")
    return (model_c[:start] + "void fe_bench_mark(int step);\n\n" + marked
            + f"\n  fe_bench_mark({n_ops});" + model_c[end:])


def tool(name: str) -> str:
    """Absolute path of a command-line tool, or :class:`BenchError` naming how to install it."""
    path = shutil.which(name)
    if path is None:
        raise BenchError(f"{name} not found on PATH (make setup installs it)")
    return path


def run_tool(argv: list[str], what: str, timeout_s: float = 300.0) -> str:
    """stdout of ``argv``; :class:`BenchError` with its stderr when it fails."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{what}: still running after {timeout_s} s") from None
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        key = next((ln for ln in lines if "error" in ln.lower() or "overflow" in ln), "")
        raise BenchError(f"{what} failed (exit {proc.returncode}): {key.strip()[:240]}\n"
                         + "\n".join(lines[-30:]))
    return proc.stdout


PROBE_TABLES = ("bench_ticks", "bench_hop_count")
"""The bench mains' measurement tables (templates/bench_main.c.j2: a tick per operator mark;
bench_stream_main.c.j2: an instruction count per hop)."""


def symbol_bytes(elf: Path, names: Iterable[str]) -> int:
    """Total size of the symbols ``names`` in ``elf`` (one ``arm-none-eabi-nm -S``), those
    absent counting 0."""
    wanted = set(names)
    out = run_tool([tool("arm-none-eabi-nm"), "-S", str(elf)], "arm-none-eabi-nm")
    return sum(int(parts[1], 16) for parts in map(str.split, out.splitlines())
               if len(parts) == 4 and parts[3] in wanted)


def section_sizes(elf: Path) -> ImageSize:
    """Section totals of ``elf`` from ``arm-none-eabi-size -A``."""
    out = run_tool([tool("arm-none-eabi-size"), "-A", "-d", str(elf)], "arm-none-eabi-size")
    sizes: dict[str, int] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith(".") and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])

    def total(*names: str) -> int:
        return sum(v for k, v in sizes.items() if any(k == n or k.startswith(n + ".") for n in names))

    return ImageSize(text_bytes=total(".text", ".vectors", ".init", ".fini", ".ARM.exidx"),
                     rodata_bytes=total(".rodata"), data_bytes=total(".data"),
                     bss_bytes=total(".bss", ".persistent", ".arena"))


def _write(files: dict[str, str], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return [folder / n for n in files if n.endswith(".c")]


def _kernel_sources() -> list[Path]:
    from export.codegen import KERNEL_DIR

    return sorted(KERNEL_DIR.glob("*.c"))


def _compile(board: Any, srcs: list[Path], incs: list[Path], obj_dir: Path,
             extra: tuple[str, ...] = ()) -> list[Path]:
    gcc = tool("arm-none-eabi-gcc")
    obj_dir.mkdir(parents=True, exist_ok=True)
    objs = []
    for k, src in enumerate(srcs):
        obj = obj_dir / f"{k:03d}_{src.stem}.o"
        run_tool([gcc, *board.cpu_flags, *ARM_CFLAGS, *extra, *(f"-I{d}" for d in incs),
                  "-c", str(src), "-o", str(obj)], f"compiling {src.name} for {board.name}")
        objs.append(obj)
    return objs


def _kernel_flags(portable: bool, files: dict[str, str] | None = None) -> tuple[str, ...]:
    return (*(("-DFE_KERNELS_PORTABLE",) if portable else ()),
            *(kernel_defines(files) if files is not None else ()))


def model_size(gen: Generated, board: Any, work: Path, *, portable: bool = False) -> ImageSize:
    """Flash and static RAM of the generated model + used kernels alone on ``board``."""
    from export.codegen import KERNEL_DIR

    work = Path(work)
    srcs = _write(gen.files, work / "src")
    objs = _compile(board, srcs + _kernel_sources(), [KERNEL_DIR, work / "src"], work / "obj",
                    _kernel_flags(portable, gen.files))
    p = gen.prefix
    keep = [f"-Wl,--undefined={p}_{f}" for f in ("init", "input", "output", "input_bytes",
                                                  "output_bytes", "reset_state", "set_input",
                                                  "set_output")]
    elf = work / "model_only.elf"
    run_tool([tool("arm-none-eabi-gcc"), *board.cpu_flags, "-nostartfiles", "--specs=nano.specs",
              "--specs=nosys.specs", "-Wl,--gc-sections", f"-Wl,-e,{p}_invoke", *keep,
              *map(str, objs), "-o", str(elf)], f"linking the model alone for {board.name}")
    return section_sizes(elf)


def emulator_layout(board: Any, folder: Path) -> Path:
    """``folder`` with a ``memory.ld`` for ``board`` whose regions are :data:`EMULATOR_REGIONS`
    (put it first on the linker's ``-L`` path: it shadows the board's own memory.ld)."""
    regions = EMULATOR_REGIONS.get(board.name)
    if regions is None:
        raise BenchError(f"board {board.name!r}: no emulator memory layout for bench images "
                         f"(emulated boards: {', '.join(EMULATOR_REGIONS)})")
    text = (board.board_dir / "memory.ld").read_text()
    for region, (origin, length) in regions.items():
        text, n = re.subn(rf"(\b{region}\s*\([^)]*\)\s*:\s*ORIGIN\s*=\s*)(\w+)(\s*,\s*LENGTH\s*=\s*)\w+",
                          lambda m, o=origin, ln=length: f"{m[1]}{o or m[2]}{m[3]}{ln}", text)
        if n != 1:
            raise BenchError(f"{board.board_dir / 'memory.ld'}: expected one {region} region, "
                             f"found {n}")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "memory.ld").write_text(text)
    return folder


def build_image(gen: Generated, board: Any, work: Path, *, portable: bool = False,
                emulator_memory: bool = False, main_c: str | None = None) -> BenchImage:
    """A bootable image: board startup + probed model + the bench main (templates/).

    Linked under the board's budgets (what links fits the real board), or with
    ``emulator_memory`` over the memory QEMU maps (:func:`emulator_layout`), as the peer's.
    ``main_c``: another bench main's text (e.g. the streaming one of :mod:`benchmarks.stream`);
    the model is then built without the per-operator probe."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    from export.codegen import KERNEL_DIR
    from firmware_bridge.boards.callgraph import read_callgraph, stack_bound
    from firmware_bridge.boards.registry import FIRMWARE_DIR
    from firmware_bridge.build import LINK_FLAGS

    work = Path(work)
    p, n_ops = gen.prefix, len(gen.plan.order)
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                      keep_trailing_newline=True)
    files = dict(gen.files)
    files["bench_main.c"] = main_c if main_c is not None else env.get_template(
        "bench_main.c.j2").render(p=p, n_marks=n_ops + 1)
    probe = PROBE_FLAGS if main_c is None else ()
    srcs = _write(files, work / "src")
    board_srcs = [FIRMWARE_DIR / s for s in ("common/startup.c", "common/semihost.c",
                                             *board.sources)]
    incs = [KERNEL_DIR, work / "src", TEMPLATES, board.board_dir, FIRMWARE_DIR / "common",
            FIRMWARE_DIR]
    flags = ("-fstack-usage", "-fcallgraph-info=su")
    objs = _compile(board, board_srcs, incs, work / "obj", flags)
    kflags = _kernel_flags(portable)  # the model's C picks its kernel variants by them too
    objs += _compile(board, srcs, incs, work / "obj_model", (*flags, *probe, *kflags))
    objs += _compile(board, _kernel_sources(), incs, work / "obj_kernels",
                     (*flags, *_kernel_flags(portable, files)))
    elf = work / "bench.elf"
    layout = [f"-L{emulator_layout(board, work / 'ld')}"] if emulator_memory else []
    run_tool([tool("arm-none-eabi-gcc"), *board.cpu_flags, *LINK_FLAGS, *layout,
              f"-L{board.board_dir}", f"-L{FIRMWARE_DIR / 'common'}", "-T", "linker.ld",
              f"-Wl,--defsym=__stack_size={board.stack_size}", *map(str, objs), "-o", str(elf)],
             f"linking the bench image for {board.name}")
    cis = [c for d in ("obj", "obj_model", "obj_kernels") for c in sorted((work / d).glob("*.ci"))]
    bound = stack_bound(read_callgraph(cis))
    return BenchImage(elf, section_sizes(elf), bound.bytes if bound.bounded else 0, n_ops,
                      symbol_bytes(elf, PROBE_TABLES))
