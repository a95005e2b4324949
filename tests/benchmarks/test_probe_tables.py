"""The bench image's SRAM figure leaves out the measurement's own tables (4 B an operator mark),
which no firmware has, and nothing else."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks import toolchain


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None,
                    reason="arm-none-eabi-gcc missing (make setup installs it)")
def test_model_ram_leaves_out_only_the_tick_table(tmp_path: Path) -> None:
    from benchmarks.models import zoo_models
    from firmware_bridge.boards.registry import get_board

    m = zoo_models(("mlp",))[0]
    gen = toolchain.generate(m)
    image = toolchain.build_image(gen, get_board("qemu-m7"), tmp_path)
    assert image.probe_bytes == 4 * (image.ops + 1)  # a mark before every operator, one after
    assert image.model_ram_bytes == image.size.static_ram_bytes - image.probe_bytes
    assert image.model_ram_bytes >= gen.plan.arena_bytes  # the arena is still counted
    assert toolchain.symbol_bytes(image.elf, ["no_such_symbol"]) == 0
    assert toolchain.symbol_bytes(image.elf, ["bench_ticks", "no_such_symbol"]) == image.probe_bytes
