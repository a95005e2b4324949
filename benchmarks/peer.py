"""The peer on the board: TFLite Micro + CMSIS-NN running a model in QEMU, counted like ours.

Steps for one model and one emulated board: the TFLM runtime sources
(:func:`export.tflm.runtime.tflm_model_sources`: the model with our offline memory plan, an op
resolver with exactly its operators, the generated-C API over one interpreter); the
TFLM + CMSIS-NN library for the board's core, with only the kernels those operators need
(:func:`firmware_bridge.tflm.library.build_library`, cached); a bench image
(``templates/tflm_bench_main.cc.j2`` + the board's startup) linked with the board's section
layout over the memory QEMU maps (:data:`benchmarks.toolchain.EMULATOR_REGIONS`: the board's
flash and SRAM budgets would refuse the larger models; whether a model fits the board is a
separate figure); one boot under
``qemu-system-arm -icount shift=7``.

What the image reports: the instructions of the whole second ``Invoke()`` (interpreter
included), per-operator instructions from a profiler attached to a second interpreter (one
back-to-back begin/end pair subtracted), ``arena_used_bytes()`` on the board (32-bit: smaller
than the x86 wheel's figure), and the outputs, which :func:`check_outputs` compares byte for
byte with the ``tflite-micro`` wheel run on the same planned model and inputs.

SRAM of the peer = ``arena_used_bytes`` + the image's static RAM outside the arena buffer
(.data, .bss: the interpreter, resolver and profiler objects, the C library's); flash = the
image's text + rodata + data (the model, the interpreter, the kernels linked, startup and the
bench main). The stack is not counted for the peer (ours counts its bound): in its favour.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import BenchError
from benchmarks.board import OpCount, boot
from benchmarks.toolchain import TEMPLATES, emulator_layout, run_tool, section_sizes, tool

RUNTIME = "tflm-cmsis-nn"
"""The peer's name in results (``rows[].runtime``)."""

PREFIX = "bench"
"""Symbol prefix of the model in the peer's bench image."""

INPUT_SEED = 1234
"""Seed of the random int8 inputs the outputs are checked on."""

ARENA_HEADROOM = 2
"""The bench image reserves this many times the wheel's arena and reports what the board used."""

_CXX = ("-std=c++17", "-fno-rtti", "-fno-exceptions", "-fno-threadsafe-statics", "-O2", "-g",
        "-ffunction-sections", "-fdata-sections", "-Wall", "-Wno-psabi")  # fmt: skip
_C = ("-std=c99", "-O2", "-g", "-ffunction-sections", "-fdata-sections", "-fno-common")


@dataclass(frozen=True)
class PeerRun:
    """One model run by TFLite Micro + CMSIS-NN on one emulated board."""

    model: str  # bench model name
    board: str  # board name
    total_instructions: int  # the whole second Invoke(), interpreter included
    ops: tuple[OpCount, ...]  # per operator (kernel invoke only), in execution order
    arena_used_bytes: int  # MicroInterpreter::arena_used_bytes() on the board
    arena_reserved_bytes: int  # the arena buffer compiled in (wheel measurement + margin)
    static_ram_bytes: int  # .data + .bss outside the arena buffer
    flash_bytes: int  # text + rodata + data of the bench image
    outputs: tuple[bytes, ...]  # outputs of the counted invoke
    matches_wheel: bool  # outputs byte for byte equal to the tflite-micro wheel's (same inputs)

    @property
    def sram_bytes(self) -> int:
        """What the peer needs in SRAM: arena used + static RAM (no stack)."""
        return self.arena_used_bytes + self.static_ram_bytes


def bench_inputs(graph: Any, seed: int = INPUT_SEED) -> list[bytes]:
    """Seeded random bytes for the int8/uint8 inputs, zeros for the others (indices, clocks)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in graph.inputs:
        t = graph.tensors[i]
        if t.dtype in ("int8", "uint8"):
            out.append(rng.integers(0, 256, t.nbytes, dtype=np.uint8).tobytes())
        else:
            out.append(bytes(t.nbytes))
    return out


def parse_peer_output(text: str, n_ops: int, n_outputs: int) -> dict[str, Any]:
    """The bench image's lines as {'cal', 'ops', 'total', 'arena', 'outputs', 'status'}."""
    found: dict[str, Any] = {"ops": {}, "outputs": {}}
    for line in text.splitlines():
        parts = line.split()
        key = parts[0] if parts else ""
        if key in ("CAL", "TOTAL", "ARENA", "STATUS") and len(parts) == 2:
            found[key.lower()] = int(parts[1])
        elif key == "OP" and len(parts) == 3:
            found["ops"][int(parts[1])] = int(parts[2])
        elif key == "OUT" and len(parts) == 3:
            found["outputs"][int(parts[1])] = bytes.fromhex(parts[2])
    status = found.get("status")
    if status is None or "END" not in text:
        raise BenchError(f"peer bench image: expected STATUS and END, found {text[-400:]!r}")
    if status != 0:
        stage = {11: "schema version", 12: "op resolver", 13: "AllocateTensors (arena)",
                 20: "first Invoke", 21: "counted Invoke", 30: "profiled interpreter",
                 31: "profiled Invoke"}.get(status, "unknown stage")
        raise BenchError(f"peer bench image failed: status {status} ({stage})")
    missing = [k for k in ("cal", "total", "arena") if k not in found]
    if missing or sorted(found["ops"]) != list(range(n_ops)) or \
            sorted(found["outputs"]) != list(range(n_outputs)):
        raise BenchError(f"peer bench image: expected CAL, TOTAL, ARENA, {n_ops} OP and "
                         f"{n_outputs} OUT lines, found {text[-400:]!r}")
    return found


def _compile(argv_head: list[str], srcs: list[Path], incs: list[Path], obj_dir: Path,
             what: str) -> list[Path]:  # fmt: skip
    obj_dir.mkdir(parents=True, exist_ok=True)
    objs = []
    for k, src in enumerate(srcs):
        obj = obj_dir / f"{k:02d}_{src.stem}.o"
        run_tool([*argv_head, *(f"-I{d}" for d in incs), "-c", str(src), "-o", str(obj)],
                 f"compiling {src.name} ({what})")
        objs.append(obj)
    return objs


def build_peer_image(model: bytes, board: Any, work: Path, *, persistent: tuple[int, ...] = (),
                     inputs: list[bytes] | None = None) -> tuple[Path, Any, int]:  # fmt: skip
    """(bench.elf, its TflmSources, the arena bytes reserved) of ``model`` on ``board``."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    from export.tflite_reader import read_tflite
    from export.tflm.runtime import tflm_model_sources
    from firmware_bridge.boards.registry import FIRMWARE_DIR
    from firmware_bridge.build import LINK_FLAGS
    from firmware_bridge.tflm.library import build_library
    from firmware_bridge.tflm.sources import locate_sources

    graph = read_tflite(model, compiler_ops=False)
    wheel = tflm_model_sources(model, prefix=PREFIX, persistent=persistent)
    srcs = tflm_model_sources(model, prefix=PREFIX, persistent=persistent,
                              arena_bytes=ARENA_HEADROOM * wheel.arena_bytes)
    lib = build_library(board, locate_sources(), ops={op.op for op in graph.operators})
    data = inputs if inputs is not None else bench_inputs(graph)
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                      keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    files = dict(srcs.files)
    files["bench_main.cc"] = env.get_template("tflm_bench_main.cc.j2").render(
        p=PREFIX, n_ops=len(graph.operators), n_outputs=len(graph.outputs),
        inputs=[list(x) for x in data])
    src_dir = work / "src"
    src_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (src_dir / name).write_text(text)
    tflm_dir = FIRMWARE_DIR / "tflm"
    incs = [src_dir, TEMPLATES, tflm_dir, board.board_dir, FIRMWARE_DIR / "common", FIRMWARE_DIR,
            *lib.include_dirs]  # fmt: skip
    cxx_srcs = [src_dir / n for n in sorted(files) if n.endswith(".cc")]
    cxx_srcs.append(tflm_dir / "fe_tflm_support.cc")
    objs = _compile([tool("arm-none-eabi-g++"), *board.cpu_flags, *_CXX, *lib.defines],
                    cxx_srcs, incs, work / "obj_cc", f"TFLM bench for {board.name}")
    board_srcs = [FIRMWARE_DIR / s for s in ("common/startup.c", "common/semihost.c",
                                             *board.sources)]  # fmt: skip
    objs += _compile([tool("arm-none-eabi-gcc"), *board.cpu_flags, *_C], board_srcs, incs,
                     work / "obj_c", f"board layer for {board.name}")
    elf = work / "bench_tflm.elf"
    layout = emulator_layout(board, work / "ld")
    run_tool([tool("arm-none-eabi-gcc"), *board.cpu_flags, *LINK_FLAGS, f"-L{layout}",
              f"-L{board.board_dir}", f"-L{FIRMWARE_DIR / 'common'}", "-T", "linker.ld",
              f"-Wl,--defsym=__stack_size={board.stack_size}", *map(str, objs), str(lib.archive),
              "-lm", "-o", str(elf)], f"linking the TFLM bench image for {board.name}")
    return elf, srcs, srcs.arena_bytes


def _arena_section(elf: Path) -> int:
    out = run_tool([tool("arm-none-eabi-size"), "-A", "-d", str(elf)], "arm-none-eabi-size")
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == ".arena":
            return int(parts[1])
    return 0


def run_peer_on_board(model: bytes, name: str, board: Any, *, persistent: tuple[int, ...] = (),
                      inputs: list[bytes] | None = None,
                      work: Path | None = None) -> PeerRun:  # fmt: skip
    """Build, boot and measure TFLite Micro + CMSIS-NN running ``model`` on emulated ``board``."""
    from export.tflite_reader import read_tflite

    if inputs is None:
        inputs = bench_inputs(read_tflite(model, compiler_ops=False))
    with tempfile.TemporaryDirectory(prefix="foley-peer-") as tmp:
        folder = Path(work) if work is not None else Path(tmp)
        elf, srcs, _ = build_peer_image(model, board, folder, persistent=persistent, inputs=inputs)
        text = boot(board, elf, folder, f"{name} (TFLM)")
        graph = read_tflite(srcs.planned_model, compiler_ops=False)
        found = parse_peer_output(text, len(graph.operators), len(graph.outputs))
        size = section_sizes(elf)
        arena_section = _arena_section(elf)
    cal = found["cal"]
    ops = tuple(OpCount(k, srcs.order[k], graph.operators[k].op, max(0, found["ops"][k] - cal))
                for k in range(len(graph.operators)))
    outputs = tuple(found["outputs"][k] for k in range(len(graph.outputs)))
    return PeerRun(name, board.name, found["total"], ops, found["arena"], arena_section,
                   size.static_ram_bytes - arena_section, size.flash_bytes, outputs,
                   outputs == wheel_outputs(srcs.planned_model, inputs))


def wheel_outputs(planned_model: bytes, inputs: list[bytes]) -> tuple[bytes, ...]:
    """The ``tflite-micro`` wheel's outputs for ``inputs`` (raw bytes per input)."""
    from export.tflite_reader import read_tflite
    from export.tflm.arena import tflm_interpreter

    graph = read_tflite(planned_model, compiler_ops=False)
    interp = tflm_interpreter(planned_model)
    for k, raw in enumerate(inputs):
        d = interp.get_input_details(k)
        interp.set_input(np.frombuffer(raw, dtype=d["dtype"]).reshape(d["shape"]), k)
    interp.invoke()
    return tuple(np.ascontiguousarray(interp.get_output(k)).tobytes()
                 for k in range(len(graph.outputs)))
