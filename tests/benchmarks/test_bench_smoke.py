"""Smoke test of the bench machinery: one tiny zoo model, memory + flash + host instructions,
plus the probe instrumentation and the output parser on hand-made input."""

from __future__ import annotations

import json
import shutil

import pytest

from benchmarks import BenchError
from benchmarks.board import parse_output
from benchmarks.flash import TFLM_KERNEL_BYTES, TFLM_RUNTIME_BYTES, tflm_flash_estimate
from benchmarks.speed import real_time
from benchmarks.toolchain import instrument

GENERATED = """int bench_invoke(void) {
  /* operator 2: ADD -> (1, 4) */
  fe_add();
  /* operator 0: MUL -> (1, 4) */
  fe_mul();
  return 0;
}
"""


def test_instrument_marks_every_operator_and_the_end() -> None:
    text = instrument(GENERATED, "bench", 2)
    body = text[text.index("int bench_invoke"):]
    assert [line.strip() for line in body.splitlines() if "fe_bench_mark" in line] == [
        "fe_bench_mark(0);", "fe_bench_mark(1);", "fe_bench_mark(2);"]
    assert body.index("fe_bench_mark(0)") < body.index("operator 2") < body.index(
        "fe_bench_mark(1)") < body.index("operator 0") < body.index("fe_bench_mark(2)")
    with pytest.raises(BenchError, match="expected 3 '/\\* operator k"):
        instrument(GENERATED, "bench", 3)
    with pytest.raises(BenchError, match="expected 'int other_invoke"):
        instrument(GENERATED, "other", 2)


def test_parse_output_and_errors() -> None:
    cal, ops, status = parse_output("CAL 7\nOP 0 100\nOP 1 57\nTOTAL 171\nSTATUS 0\nEND\n", 2)
    assert (cal, ops, status) == (7, [100, 57], 0)
    with pytest.raises(BenchError, match="expected CAL, 3 OP lines"):
        parse_output("CAL 7\nOP 0 100\nOP 1 57\nSTATUS 0\nEND\n", 3)


def test_real_time_and_tflm_estimate_arithmetic() -> None:
    rt = real_time("qemu-m7", "student", 2_000_000, 100_000, 1.0, 216_000_000, 85.0)
    assert rt.hop_instructions == 2_000_000 + 85 * 100_000
    assert rt.realtime_factor == pytest.approx(10_500_000 / 216e6, abs=1e-4)
    assert tflm_flash_estimate(1000, 3) == 1000 + TFLM_RUNTIME_BYTES + 3 * TFLM_KERNEL_BYTES


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("valgrind") is None or shutil.which("arm-none-eabi-gcc") is None,
                    reason="needs valgrind and arm-none-eabi-gcc (make setup)")
def test_quick_bench_writes_consistent_results(tmp_path) -> None:
    from foley_edge.cli import main

    assert main(["bench", "--quick", "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["unavailable"] == []
    (mem,) = res["memory"]
    assert mem["model"] == "zoo mlp"
    # the MLP is a chain: the planned peak meets the lower bound exactly
    assert mem["planned_peak_bytes"] == mem["lower_bound_bytes"] > 0
    assert mem["live_bytes_bound"] >= mem["lower_bound_bytes"]
    assert mem["peak_over_live_bound"] <= 1.0
    assert mem["no_reuse_bytes"] > mem["planned_peak_bytes"]
    assert mem["tflm_total_bytes"] == mem["tflm_head_bytes"] + mem["tflm_tail_bytes"]
    assert mem["static_ram_bytes"] >= mem["planned_peak_bytes"]
    assert mem["sram_ratio"] == pytest.approx(mem["static_ram_bytes"] / mem["tflm_total_bytes"],
                                              abs=1e-4)
    flash = {f["board"]: f for f in res["flash"]}
    assert set(flash) == {"qemu-m4", "qemu-m7", "qemu-m55"}
    weights = 32 * 64 + 64 * 32 + 32 * 10  # int8 weights of the three Dense layers
    assert all(f["const_bytes"] >= weights and f["code_bytes"] > 0 for f in flash.values())
    (host,) = res["host"]
    assert host["ours_instructions"] > 32 * 64 and host["tflm_instructions"] > 32 * 64
    md = (tmp_path / "results.md").read_text()
    assert "`foley-edge bench --quick" in md or "`foley-edge bench`" in md
    assert "| zoo mlp |" in md
    assert (tmp_path / "memory_zoo_mlp.png").stat().st_size > 1000
