"""Boot the real firmware on every emulated board: HELLO, PING/PONG, STATS, RESET, exits.

Each test builds with arm-none-eabi-gcc and boots qemu-system-arm for real.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edge import protocol_spec as spec
from edge import vocab
from firmware_bridge.boards import get_board
from firmware_bridge.boards.console import BoardConsole
from firmware_bridge.boards.qemu import QemuBoard
from firmware_bridge.build import BuildResult, build_firmware
from firmware_bridge.protocol import messages as m

pytestmark = pytest.mark.firmware
QEMU_BOARDS = ("qemu-m4", "qemu-m7", "qemu-m55", "qemu-f411")

EXIT_MODEL_C = """
#include "board.h"
#include "fe_model.h"
static const fe_model_info_t info = {0u, 1.0f, 0, 22.0f, 1u, 1u, 0u};
const fe_model_info_t *fe_model_info(void) { return &info; }
int fe_model_init(void) { board_exit(EXIT_CODE); }
int fe_model_encode(const fe_window_t *w) { (void)w; return 0; }
int fe_model_decode_step(uint8_t *t) { (void)t; return FE_MODEL_HOP_DONE; }
"""

FAULT_MODEL_C = """
#include "fe_model.h"
static const fe_model_info_t info = {0u, 1.0f, 0, 22.0f, 1u, 1u, 0u};
const fe_model_info_t *fe_model_info(void) { return &info; }
int fe_model_init(void) { return 0; }
int fe_model_encode(const fe_window_t *w) {
    (void)w;
    void (*bad)(void) = (void (*)(void))0xFFFFFFF0u; /* not executable: a fault */
    bad();
    return 0;
}
int fe_model_decode_step(uint8_t *t) { (void)t; return FE_MODEL_HOP_DONE; }
"""


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BuildResult]:
    """The no-model firmware of every QEMU board."""
    root = tmp_path_factory.mktemp("fw")
    return {b: build_firmware(b, out_dir=root / b) for b in QEMU_BOARDS}


def _model_dir(root: Path, name: str, source: str) -> Path:
    d = root / name
    d.mkdir()
    (d / "model.c").write_text(source)
    return d


@pytest.mark.parametrize("board", QEMU_BOARDS)
def test_handshake_ping_stats_reset(board: str, images: dict[str, BuildResult]) -> None:
    built = images[board]
    with QemuBoard(get_board(board), built.elf) as q, BoardConsole(q.url) as c:
        hello = c.expect(m.Hello, 20)
        assert hello.board == board
        assert hello.protocol_version == spec.PROTOCOL_VERSION
        assert hello.vocab_hash == vocab.vocab_hash()
        b = get_board(board)  # what the linker script allows
        assert (hello.flash_budget, hello.sram_budget) == (b.flash_budget, b.sram_budget)
        assert hello.model_hash == 0  # the no-model build
        payload = bytes(range(256)) * 2
        c.send(m.Ping(payload))
        assert c.expect(m.Pong).data == payload
        c.send(m.StatsRequest())
        stats = c.expect(m.Stats)
        assert stats.frames_rx == 2 and stats.frames_bad == 0
        assert stats.guard_broken == 0
        assert stats.counter_kind == spec.Counter.INSTRUCTIONS
        assert 0 < stats.stack_hwm < stats.stack_size == get_board(board).stack_size
        assert stats.stack_hwm <= built.size.stack_bound_bytes  # the static bound holds
        c.send(m.Reset())
        again = c.expect(m.Hello)
        assert again == hello
        c.send(m.StatsRequest())
        assert c.expect(m.Stats).frames_rx == 1  # counters restarted with the RESET
    assert q.returncode() is None  # stopped by us, never crashed


@pytest.mark.parametrize(
    ("board", "code"), [("qemu-m4", 0), ("qemu-m7", 0), ("qemu-m55", 0), ("qemu-m7", 1)]
)
def test_semihosting_exit_status(board: str, code: int, tmp_path: Path) -> None:
    model = _model_dir(tmp_path, "exit", EXIT_MODEL_C.replace("EXIT_CODE", str(code)))
    elf = build_firmware(board, model_dir=model, out_dir=tmp_path / "out").elf
    with QemuBoard(get_board(board), elf) as q, BoardConsole(q.url):
        assert q.wait(20) == code


def test_fault_ends_the_run_with_status_1(tmp_path: Path) -> None:
    model = _model_dir(tmp_path, "fault", FAULT_MODEL_C)
    elf = build_firmware("qemu-m7", model_dir=model, out_dir=tmp_path / "out").elf
    with QemuBoard(get_board("qemu-m7"), elf) as q, BoardConsole(q.url) as c:
        c.expect(m.Hello)
        c.send(m.Keypoints(0, bytes(spec.N_JOINTS * spec.N_CHANNELS)))  # hop = 1: encode
        assert q.wait(20) == 1
