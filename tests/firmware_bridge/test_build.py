"""build_firmware: every board links, size.json is right, budgets fail clearly, stack bounds."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from firmware_bridge.boards import BOARDS, get_board
from firmware_bridge.boards.callgraph import (
    EXCEPTION_FRAME_BYTES,
    LIBRARY_FRAME_BYTES,
    read_callgraph,
    stack_bound,
)
from firmware_bridge.build import BuildError, build_firmware

ARENA_MODEL_C = """
#include "fe_model.h"
static int8_t big[ARENA_BYTES] FE_ARENA;
static const fe_model_info_t info = {7u, 1.0f, 0, 22.0f, 1u, 1u, 0u};
const fe_model_info_t *fe_model_info(void) { return &info; }
int fe_model_init(void) { return 0; }
int fe_model_encode(const fe_window_t *w) { fe_window_copy(w, big); return 0; }
int fe_model_decode_step(uint8_t *t) { (void)t; return FE_MODEL_HOP_DONE; }
"""
FLASH_MODEL_C = ARENA_MODEL_C.replace(
    "static int8_t big[ARENA_BYTES] FE_ARENA;",
    "static int8_t big[256] FE_ARENA;\nconst int8_t weights[1100 * 1024] = {1};",
).replace("fe_window_copy(w, big);", "fe_window_copy(w, big); big[0] = weights[w->count];")
STACK_MODEL_C = ARENA_MODEL_C.replace(
    "fe_window_copy(w, big); return 0;",
    "volatile int8_t local[20000]; fe_window_copy(w, (int8_t *)local); return local[7] + big[0];",
)
RECURSIVE_MODEL_C = ARENA_MODEL_C.replace(
    "int fe_model_encode(const fe_window_t *w) { fe_window_copy(w, big); return 0; }",
    "int fe_model_encode(const fe_window_t *w) {\n"
    "    if (w->count > 1u) { fe_window_t v = *w; v.count--; return fe_model_encode(&v); }\n"
    "    return big[0]; }",
)


def _model(root: Path, source: str, **defines: int) -> Path:
    for k, v in defines.items():
        source = source.replace(k, str(v))
    root.mkdir(parents=True)
    (root / "model.c").write_text(source)
    return root


@pytest.mark.parametrize("board", sorted(BOARDS))
def test_every_board_builds_within_budget(board: str, tmp_path: Path) -> None:
    result = build_firmware(board, out_dir=tmp_path)
    size = result.size
    assert result.elf.is_file() and result.bin.is_file()
    assert json.loads(result.size_json.read_text())["flash_bytes"] == size.flash_bytes
    b = get_board(board)
    assert 0 < size.flash_bytes <= b.flash_budget
    assert result.bin.stat().st_size >= size.flash_bytes - size.sections.get(".vectors", 0)
    assert size.sram_bytes == size.static_sram_bytes + size.stack_reserved_bytes <= b.sram_budget
    assert size.stack_reserved_bytes == b.stack_size
    assert size.stack_bounded and 0 < size.stack_bound_bytes < b.stack_size
    assert size.stack_path[:2] == ("Reset_Handler", "main")
    assert size.persistent_bytes >= 64 * 195  # the keypoint window ring
    assert not any(p.suffix in (".o", ".elf") for p in Path(__file__).parents[2].rglob("edge/firmware/**/*"))


def test_model_arena_is_reported(tmp_path: Path) -> None:
    model = _model(tmp_path / "m", ARENA_MODEL_C, ARENA_BYTES=100 * 1024)
    size = build_firmware("qemu-m7", model_dir=model, out_dir=tmp_path / "o").size
    assert size.arena_bytes == 100 * 1024


def test_oversized_arena_fails_saying_by_how_much_and_what(tmp_path: Path) -> None:
    fits = _model(tmp_path / "fits", ARENA_MODEL_C, ARENA_BYTES=100 * 1024)
    base = build_firmware("qemu-m7", model_dir=fits, out_dir=tmp_path / "o1").size
    huge = _model(tmp_path / "huge", ARENA_MODEL_C, ARENA_BYTES=400 * 1024)
    with pytest.raises(BuildError) as e:
        build_firmware("qemu-m7", model_dir=huge, out_dir=tmp_path / "o2")
    msg = str(e.value)
    excess = base.sram_bytes + 300 * 1024 - 320 * 1024
    assert f"SRAM over the qemu-m7 budget of {320 * 1024} B by {excess} B" in msg
    assert re.search(r"largest users: big \(model_model\.o\): 409600 B", msg)


def test_oversized_flash_fails(tmp_path: Path) -> None:
    model = _model(tmp_path / "m", FLASH_MODEL_C)
    with pytest.raises(BuildError, match=r"FLASH over the qemu-m4 budget of 1048576 B by \d+ B"):
        build_firmware("qemu-m4", model_dir=model, out_dir=tmp_path / "o")


def test_stack_bound_over_reserve_fails_naming_the_path(tmp_path: Path) -> None:
    model = _model(tmp_path / "m", STACK_MODEL_C, ARENA_BYTES=16)
    with pytest.raises(BuildError, match=r"stack bound \d+ B exceeds the 16384 B reserved") as e:
        build_firmware("qemu-m55", model_dir=model, out_dir=tmp_path / "o")
    assert "fe_model_encode" in str(e.value)


def test_recursion_defeats_the_bound_and_says_where(tmp_path: Path) -> None:
    model = _model(tmp_path / "m", RECURSIVE_MODEL_C, ARENA_BYTES=16)
    with pytest.raises(BuildError, match="recursion: fe_model_encode -> fe_model_encode"):
        build_firmware("qemu-m7", model_dir=model, out_dir=tmp_path / "o")


def test_missing_or_empty_model_dir(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="model folder not found"):
        build_firmware("qemu-m7", model_dir=tmp_path / "nope", out_dir=tmp_path / "o")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BuildError, match="no .c files"):
        build_firmware("qemu-m7", model_dir=tmp_path / "empty", out_dir=tmp_path / "o")


def test_stack_bound_of_a_hand_written_call_graph(tmp_path: Path) -> None:
    (tmp_path / "a.ci").write_text(
        'graph: { title: "a.c"\n'
        'node: { title: "Reset_Handler" label: "Reset_Handler\\na.c:1:1\\n8 bytes (static)" }\n'
        'node: { title: "main" label: "main\\na.c:2:1\\n16 bytes (static)" }\n'
        'node: { title: "/x/a.c:leaf" label: "leaf\\na.c:3:1\\n40 bytes (static)" }\n'
        'node: { title: "memcpy" label: "memcpy\\nstring.h:1:1" shape : ellipse }\n'
        'node: { title: "SysTick_Handler" label: "SysTick_Handler\\na.c:4:1\\n24 bytes (static)" }\n'
        'edge: { sourcename: "Reset_Handler" targetname: "main" label: "a.c:1:2" }\n'
        'edge: { sourcename: "main" targetname: "/x/a.c:leaf" label: "a.c:2:2" }\n'
        'edge: { sourcename: "main" targetname: "memcpy" label: "a.c:2:3" }\n'
        "}\n"
    )
    bound = stack_bound(read_callgraph([tmp_path / "a.ci"]))
    assert bound.bounded
    assert bound.path == ("Reset_Handler", "main", "leaf" if 40 > LIBRARY_FRAME_BYTES else "memcpy")
    deepest = max(40, LIBRARY_FRAME_BYTES)
    assert bound.bytes == 8 + 16 + deepest + 24 + EXCEPTION_FRAME_BYTES
    assert bound.unknown_callees == ("memcpy",)
