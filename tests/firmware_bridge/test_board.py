"""Board registry, QEMU command line, generated headers, pyocd errors, and the CLI commands."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from edge import protocol_spec as spec
from edge import skeleton, vocab
from edge.headers import render_headers, skeleton_c_header, write_headers
from firmware_bridge.boards import BOARDS, DEFAULT_BOARD, get_board
from firmware_bridge.boards.pyocd_flash import flash_elf
from firmware_bridge.boards.qemu import QemuBoard, qemu_command
from firmware_bridge.boards.registry import emulated_twin, real_board
from firmware_bridge.errors import BoardError
from foley_edge.cli import main


def test_registry_names_and_budgets() -> None:
    assert set(BOARDS) == {"qemu-m4", "qemu-m7", "qemu-m55", "stm32f746-disco", "qemu-f411",
                           "nucleo-f411re"}
    assert DEFAULT_BOARD == "qemu-m7"
    machines = {b.name: b.qemu_machine for b in BOARDS.values()}
    assert machines["qemu-m4"] == machines["qemu-f411"] == "mps2-an386"
    assert machines["qemu-m55"] == "mps3-an547"
    f411 = {"qemu-f411", "nucleo-f411re"}
    for b in BOARDS.values():
        budget = (512 * 1024, 128 * 1024, 100_000_000) if b.name in f411 \
            else (1024 * 1024, 320 * 1024, 216_000_000)
        assert (b.flash_budget, b.sram_budget, b.target_hz) == budget
        assert b.rtf_limit == 0.5
        assert (b.board_dir / "linker.ld").is_file() and (b.board_dir / "memory.ld").is_file()


def test_every_emulated_board_stands_for_a_real_board_of_its_class() -> None:
    real = {b.name: real_board(b).name for b in BOARDS.values()}
    assert real == {"qemu-m4": "stm32f746-disco", "qemu-m7": "stm32f746-disco",
                    "qemu-m55": "stm32f746-disco", "stm32f746-disco": "stm32f746-disco",
                    "qemu-f411": "nucleo-f411re", "nucleo-f411re": "nucleo-f411re"}


def test_every_real_board_has_an_emulated_twin_with_its_core_and_budgets() -> None:
    for b in BOARDS.values():
        twin = emulated_twin(b)
        assert twin.emulated and (twin.name == b.name) == b.emulated
        assert (twin.cpu_flags, twin.flash_budget, twin.sram_budget, twin.target_hz) == \
            (b.cpu_flags, b.flash_budget, b.sram_budget, b.target_hz)


def test_memory_scripts_cap_at_the_budget() -> None:
    for b in BOARDS.values():
        text = (b.board_dir / "memory.ld").read_text()
        lengths = dict(re.findall(r"(\w+) \([rwx]+\) : ORIGIN = \w+, LENGTH = (\d+)K", text))
        assert int(lengths["RAM"]) * 1024 == b.sram_budget
        flash = int(lengths["FLASH"]) + int(lengths.get("VECTORS", 0))
        assert flash * 1024 == b.flash_budget


def test_board_config_addresses_match_the_registry() -> None:
    for b in BOARDS.values():
        if not b.emulated:
            continue
        cfg = (b.board_dir / "board_config.h").read_text()
        assert f'"{b.name}"' in cfg
        assert f"FE_UART_HOST_BASE 0x{b.host_uart:08X}u" in cfg
        assert f"FE_UART_DIN_BASE 0x{b.din_uart:08X}u" in cfg
        assert f"FE_TICK_HZ {b.cpu_hz}u" in cfg or "FE_TIMER_BASE" in cfg


def test_unknown_board_lists_the_known_ones() -> None:
    with pytest.raises(BoardError, match="unknown board 'qemu-m3': expected one of nucleo-f411re, qemu-f411, qemu-m4"):
        get_board("qemu-m3")


def test_qemu_command_line(tmp_path: Path) -> None:
    cmd = qemu_command(get_board("qemu-m55"), tmp_path / "fw.elf", host_port=4321,
                       din_file=tmp_path / "din.bin")  # fmt: skip
    argv = list(cmd.argv)
    assert argv[:3] == ["qemu-system-arm", "-machine", "mps3-an547"]
    assert argv[argv.index("-icount") + 1] == "shift=7"
    assert "enable=on,target=native" in argv
    serials = [argv[i + 1] for i, a in enumerate(argv) if a == "-serial"]
    assert serials == ["tcp:127.0.0.1:4321,server=on,wait=on,nodelay=on", f"file:{tmp_path}/din.bin"]
    with pytest.raises(BoardError, match="real hardware"):
        qemu_command(get_board("stm32f746-disco"), tmp_path / "fw.elf", host_port=1)


def test_qemu_board_refuses_missing_image(tmp_path: Path) -> None:
    with pytest.raises(BoardError, match="firmware image not found"):
        QemuBoard(get_board("qemu-m7"), tmp_path / "missing.elf")


def test_generated_headers(tmp_path: Path) -> None:
    headers = render_headers()
    assert set(headers) == {"fe_vocab.h", "fe_skeleton.h", "fe_protocol.h", "fe_midi_rules.h"}
    from edge.midi import stream

    rules = headers["fe_midi_rules.h"]
    assert f"#define FE_MIDI_MIN_NOTE_US {stream.MIN_NOTE_US} " in rules
    assert f"#define FE_MIDI_DEFAULT_VELOCITY {stream.DEFAULT_VELOCITY} " in rules
    assert f"#define FE_VOCAB_HASH 0x{vocab.vocab_hash():08X}u" in headers["fe_vocab.h"]
    assert f"#define FE_PROTOCOL_VERSION {spec.PROTOCOL_VERSION}" in headers["fe_protocol.h"]
    text = skeleton_c_header()
    pairs = [tuple(map(int, p)) for p in re.findall(r"\{(\d+), (\d+)\}", text)]
    assert pairs == list(skeleton.EDGES)
    assert f"#define FE_SKEL_N_JOINTS {skeleton.N_JOINTS}" in text
    written = write_headers(tmp_path / "inc")
    assert sorted(p.name for p in written) == sorted(headers)
    assert all(p.read_text() == headers[p.name] for p in written)


def test_pyocd_flash_errors(tmp_path: Path) -> None:
    with pytest.raises(BoardError, match="firmware image not found"):
        flash_elf(get_board("stm32f746-disco"), tmp_path / "none.elf")
    elf = tmp_path / "fw.elf"
    elf.write_bytes(b"\x7fELF")
    with pytest.raises(BoardError, match="emulated"):
        flash_elf(get_board("qemu-m7"), elf)
    with pytest.raises(BoardError, match="no debug probe found"):  # no probe in this container
        flash_elf(get_board("stm32f746-disco"), elf)


def test_cli_build_writes_size_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--board", "stm32f746-disco", "--out", str(tmp_path)]) == 0
    size = json.loads((tmp_path / "size.json").read_text())
    assert size["board"] == "stm32f746-disco" and size["flash_budget"] == 1024 * 1024
    out = capsys.readouterr().out
    assert "KiB of 1024 KiB" in out and "stack      bound" in out


def test_cli_build_error_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--model", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "model folder not found" in capsys.readouterr().err


@pytest.mark.firmware
def test_cli_flash_boots_qemu_and_handshakes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["flash", "--board", "qemu-m55", "--out", str(tmp_path), "--check"]) == 0
    out = capsys.readouterr().out
    assert "booted qemu-m55" in out and "host link  socket://127.0.0.1:" in out
