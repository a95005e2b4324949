"""Fixed-point helpers of the kernel library on the host: hand-computed rounding multiply /
shift cases, including the saturating INT32_MIN x INT32_MIN corner, built warning-free and run
under UBSan (shifts of negative values, overflow) when gcc supports it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from export.codegen import KERNEL_DIR

SOURCE = Path(__file__).parent / "c" / "fixedpoint_cases.c"
FLAGS = ["-std=c99", "-O1", "-Wall", "-Wextra", "-Werror"]


def _build_and_run(tmp_path: Path, extra: list[str]) -> subprocess.CompletedProcess[str]:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc not installed")
    exe = tmp_path / "fixedpoint"
    build = subprocess.run([gcc, *FLAGS, *extra, f"-I{KERNEL_DIR}", str(SOURCE),
                            str(KERNEL_DIR / "fixedpoint.c"), "-o", str(exe)],
                           capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr
    return subprocess.run([str(exe)], capture_output=True, text=True, check=False)


def test_fixedpoint_hand_computed_cases(tmp_path: Path) -> None:
    run = _build_and_run(tmp_path, [])
    assert run.returncode == 0, run.stdout
    m = re.search(r"ok (\d+)", run.stdout)
    assert m and int(m.group(1)) >= 30, run.stdout


def test_fixedpoint_cases_clean_under_ubsan(tmp_path: Path) -> None:
    run = _build_and_run(tmp_path, ["-fsanitize=undefined", "-fno-sanitize-recover=all"])
    assert run.returncode == 0, run.stdout + run.stderr
    assert "runtime error" not in run.stderr


def test_quantize_f32_rounds_as_roundf_without_libm(tmp_path: Path) -> None:
    """fe_quantize_f32 equals roundf-based quantization on ties, neighbours, random floats."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc not installed")
    exe = tmp_path / "quantize_round"
    build = subprocess.run([gcc, *FLAGS, f"-I{KERNEL_DIR}", str(SOURCE.parent / "quantize_round.c"),
                            str(KERNEL_DIR / "quantize.c"), "-lm", "-o", str(exe)],
                           capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout
    m = re.search(r"ok (\d+)", run.stdout)
    assert m and int(m.group(1)) == 3 * 4084  # 3 scales x 4084 values, run.stdout


def test_kernels_need_no_libm_on_cortex_m4(tmp_path: Path) -> None:
    """No kernel object references a libm symbol (M4 links without -lm)."""
    gcc, nm = shutil.which("arm-none-eabi-gcc"), shutil.which("arm-none-eabi-nm")
    if gcc is None or nm is None:
        pytest.skip("arm-none-eabi-gcc not installed (make setup installs it)")
    flags = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
    undefined: set[str] = set()
    for src in sorted(KERNEL_DIR.glob("*.c")):
        obj = tmp_path / (src.stem + ".o")
        subprocess.run([gcc, *FLAGS, "-O2", *flags, f"-I{KERNEL_DIR}", "-c", str(src), "-o",
                        str(obj)], check=True, capture_output=True)
        out = subprocess.run([nm, "-u", str(obj)], capture_output=True, text=True, check=True)
        undefined |= {ln.split()[-1] for ln in out.stdout.splitlines() if ln.strip()}
    libm = {"roundf", "round", "expf", "exp", "sqrtf", "sqrt", "floorf", "floor", "lroundf"}
    assert not undefined & libm, sorted(undefined & libm)


def test_softmax_exp_table_equals_c_exp(tmp_path: Path) -> None:
    """The code generator's Python exp table equals the C kernels' gemmlowp exp, entry by
    entry, over input scales from 1e-4 to 2 (multiplier, shift and diff_min as the softmax
    renderer derives them)."""
    import math

    from export.codegen.fixedpoint import softmax_exp_table
    from export.codegen.quant import quantize_multiplier

    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc not installed")
    params = []
    for scale in (1e-4, 3e-3, 0.02, 0.0625, 0.1, 0.37, 1.0, 2.0):
        mult, shift = quantize_multiplier(min(scale * (1 << 26), (1 << 31) - 1.0))
        radius = math.floor(31 * (1 << 26) / (1 << shift))
        params.append((mult, shift, -radius))
    rows = ",\n".join(f"  {{{m}, {s}, {d}}}" for m, s, d in params)
    source = tmp_path / "exp_table.c"
    source.write_text(f"""#include <stdio.h>
#include "fe_fixedpoint.h"
static const long params[][3] = {{
{rows}
}};
int main(void) {{
  int i, d;
  for (i = 0; i < (int)(sizeof params / sizeof params[0]); ++i) {{
    for (d = 0; d < 256; ++d) {{
      const int32_t diff = -d;
      const int32_t e = diff >= params[i][2]
          ? fe_exp_on_negative(fe_srdhm((int32_t)((uint32_t)diff << params[i][1]),
                                        (int32_t)params[i][0]), 5) : 0;
      printf("%ld ", (long)e);
    }}
    printf("\\n");
  }}
  return 0;
}}
""")
    exe = tmp_path / "exp_table"
    subprocess.run([gcc, *FLAGS, f"-I{KERNEL_DIR}", str(source), str(KERNEL_DIR / "fixedpoint.c"),
                    "-o", str(exe)], check=True, capture_output=True, text=True)
    lines = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    for (m, s, d), line in zip(params, lines.splitlines(), strict=True):
        c_values = [int(v) for v in line.split()]
        table = softmax_exp_table(m, s, d)
        assert table == c_values[:len(table)], f"multiplier {m} shift {s}"
        assert not any(c_values[len(table):]), f"multiplier {m} shift {s}: table cut too early"
