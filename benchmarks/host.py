"""Host instructions: one invoke of the generated C vs one tflite-micro invoke (callgrind).

Both run on the host CPU under ``valgrind --tool=callgrind`` with collection only inside the
invoke function (``--collect-atstart=no --toggle-collect=FN``, which replaces the "minus the
harness's empty baseline" of a 0-vs-N difference: nothing outside the invoke is counted) and
``--dump-after=FN``, which writes one profile per invoke. The count of the LAST of
:data:`INVOKES` invokes is used, so one-time effects of a first call (lazy symbol binding)
are left out. Ours: the generated C + kernels built with the host flags of
:mod:`export.host_runner`, driven by ``templates/host_bench.c.j2``; TFLM: its Python runtime
(``templates/tflm_bench.py``), function ``tflite::micro::MicroInterpreter::Invoke()`` (checked
with ``nm -DC`` on tflite_micro's ``_runtime.so``). Inputs are zeros in both.
"""

from __future__ import annotations

import hashlib
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks import BenchError
from benchmarks.models import BenchModel
from benchmarks.toolchain import TEMPLATES, Generated, run_tool, tool

INVOKES = 2
"""Invokes per callgrind run; the last one is reported."""

TFLM_INVOKE = "tflite::micro::MicroInterpreter::Invoke()"
"""The interpreter's invoke symbol in tflite_micro's _runtime.so."""

_TOTALS = re.compile(r"^(?:totals|summary):\s+(\d+)", re.MULTILINE)


@dataclass(frozen=True)
class HostRow:
    """Host instructions of one invoke, ours against tflite-micro."""

    model: str  # bench model name
    ours_instructions: int  # generated C: instructions of one invoke
    tflm_instructions: int  # tflite-micro: instructions of one MicroInterpreter::Invoke()
    ratio: float  # ours / tflm (target <= 0.3)


def callgrind_invoke(argv: list[str], function: str, what: str) -> int:
    """Instructions of the last call of ``function`` when running ``argv`` under callgrind."""
    with tempfile.TemporaryDirectory(prefix="foley-cg-") as tmp:
        out = Path(tmp) / "cg.out"
        run_tool([tool("valgrind"), "--tool=callgrind", "--collect-atstart=no",
                  f"--toggle-collect={function}", f"--dump-after={function}",
                  f"--callgrind-out-file={out}", *argv], f"callgrind of {what}", timeout_s=600)
        dumps = sorted(Path(tmp).glob("cg.out.*"), key=lambda p: int(p.suffix[1:]))
        if len(dumps) < INVOKES:
            raise BenchError(f"callgrind of {what}: expected {INVOKES} dumps after {function}, "
                             f"found {len(dumps)}")
        found = _TOTALS.search(dumps[-1].read_text())
        if found is None:
            raise BenchError(f"callgrind of {what}: no 'totals:' line in {dumps[-1].name}")
        return int(found.group(1))


def host_binary(gen: Generated) -> Path:
    """The generated C + kernels + host bench harness, compiled with gcc (cached by content)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    from export.codegen import KERNEL_DIR
    from export.host_runner import HOST_CFLAGS, cache_root

    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined)
    files = {**gen.files, "host_bench.c": env.get_template("host_bench.c.j2").render(p=gen.prefix,
                                                                      P=gen.prefix.upper())}
    kernels = sorted(KERNEL_DIR.glob("*.c"))
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + files[name].encode())
    for k in sorted(KERNEL_DIR.glob("*.[ch]")):
        h.update(k.read_bytes())
    folder = cache_root() / f"bench-{h.hexdigest()[:20]}"
    exe = folder / "host_bench"
    if exe.exists():
        return exe
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    srcs = [str(folder / n) for n in files if n.endswith(".c")] + [str(k) for k in kernels]
    tmp_exe = folder / f"host_bench.{id(files)}"
    run_tool([tool("gcc"), *HOST_CFLAGS, f"-I{KERNEL_DIR}", f"-I{folder}", *srcs, "-o", str(tmp_exe)], "gcc (host bench harness)")
    tmp_exe.replace(exe)
    return exe


def host_row(model: BenchModel, gen: Generated) -> HostRow:
    """Host instructions of one invoke of ``model``: generated C and tflite-micro."""
    exe = host_binary(gen)
    ours = callgrind_invoke([str(exe), str(INVOKES)], f"{gen.prefix}_invoke",
                            f"{model.name} (generated C)")
    script = TEMPLATES / "tflm_bench.py"
    tflm = callgrind_invoke([sys.executable, str(script), model.path, str(INVOKES)], TFLM_INVOKE,
                            f"{model.name} (tflite-micro)")
    return HostRow(model.name, ours, tflm, round(ours / tflm, 4) if tflm else float("nan"))
