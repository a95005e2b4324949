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
