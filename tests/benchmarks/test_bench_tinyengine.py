"""`foley-edge bench` measures TinyEngine's three MCUNet models from ``../shared/models`` (issue
#16): they are in the bench's model list when the folder has them, read in place, and listed
under 'Not available' with the reason when it does not (a clean clone has no ``../shared``).
No QEMU run here: the models' board runs take minutes (benchmarks/, not tests)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from benchmarks.models import TINYENGINE_DIR, TINYENGINE_NAMES, tinyengine_models

HAVE_MODELS = all((TINYENGINE_DIR / f"{n}.tflite").is_file() for n in TINYENGINE_NAMES)


def _args(*argv: str) -> argparse.Namespace:
    from foley_edge.cli import build_parser

    return build_parser().parse_args(["bench", *argv])


@pytest.mark.skipif(not HAVE_MODELS, reason=f"{TINYENGINE_DIR} does not hold TinyEngine's models")
def test_the_three_models_are_listed_in_place() -> None:
    found, missing = tinyengine_models()
    assert missing == []
    assert [m.name for m in found] == [f"tinyengine {n}" for n in TINYENGINE_NAMES]
    for m in found:
        assert m.family == "tinyengine" and m.role == "model"
        assert Path(m.path).parent == TINYENGINE_DIR.resolve()  # read where they lie
        assert "counted in SRAM on both sides" in m.note
    big = {m.name for m in found if m.emulator_memory}
    assert big == {"tinyengine mcunetv2-large", "tinyengine mcunet-detection"}
    assert "float32 I/O 76,800 B in + 8 B out" in found[0].note


def test_a_missing_folder_lists_them_as_not_available(tmp_path: Path) -> None:
    found, missing = tinyengine_models(tmp_path / "absent")
    assert found == []
    assert [u.what for u in missing] == [f"tinyengine {n}" for n in TINYENGINE_NAMES]
    assert all("no such folder" in u.reason and "--tinyengine" in u.reason for u in missing)


def test_a_missing_file_lists_that_model_only(tmp_path: Path) -> None:
    if not HAVE_MODELS:
        pytest.skip(f"{TINYENGINE_DIR} does not hold TinyEngine's models")
    (tmp_path / "mcunet-vww1.tflite").symlink_to(TINYENGINE_DIR / "mcunet-vww1.tflite")
    found, missing = tinyengine_models(tmp_path)
    assert [m.name for m in found] == ["tinyengine mcunet-vww1"]
    assert [u.what for u in missing] == ["tinyengine mcunet-detection",
                                         "tinyengine mcunetv2-large"]
    assert all("no such file" in u.reason for u in missing)


def test_bench_command_line_adds_them_or_says_why_not(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from foley_edge.commands import bench

    monkeypatch.setattr(bench, "_built_in", lambda args: ())  # no zoo / student build here
    models, missing = bench._models(_args("--tinyengine", str(tmp_path)))
    assert models == () and len(missing) == len(TINYENGINE_NAMES)
    assert bench._models(_args("--no-tinyengine")) == ((), ())
    assert bench._models(_args("--quick")) == ((), ())
    if HAVE_MODELS:
        models, missing = bench._models(_args())
        assert [m.name for m in models] == [f"tinyengine {n}" for n in TINYENGINE_NAMES]
        assert missing == ()


@pytest.mark.parametrize(("board", "ram"), [("qemu-m4", "0x21000000"), ("qemu-m7", "0x60000000"),
                                            ("qemu-m55", "0x70000000")])
def test_emulator_layout_puts_ram_in_the_largest_memory_qemu_maps(tmp_path: Path, board: str,
                                                                    ram: str) -> None:
    import re

    from benchmarks.toolchain import emulator_layout
    from firmware_bridge.boards.registry import get_board

    b = get_board(board)
    text = (emulator_layout(b, tmp_path) / "memory.ld").read_text()
    regions = dict(re.findall(r"^\s*(\w+) \([rwx]+\) : ORIGIN = (\w+), LENGTH = \w+",
                              text, re.MULTILINE))
    own = dict(re.findall(r"^\s*(\w+) \([rwx]+\) : ORIGIN = (\w+), LENGTH = \w+",
                          (b.board_dir / "memory.ld").read_text(), re.MULTILINE))
    assert regions["RAM"] == ram and regions["FLASH"] == own["FLASH"]
    assert "LENGTH = 16M" in text and "LENGTH = 320K" not in text
