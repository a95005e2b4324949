"""The bench's streamed encoder row (issue #20): a tiny encoder of the project's architecture,
benched as the student's on qemu-m7, gets a "streamed (hop 4)" row whose instructions per hop
are below one windowed invoke's, per frame too, beside the windowed figures in results.md;
TFLite Micro's streamed row is listed as not available, never filled in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.models import BenchModel
from benchmarks.readme import render
from benchmarks.report import STREAM_SECTION, render_markdown
from benchmarks.runner import BenchOptions, run_bench

pytestmark = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="arm-none-eabi-gcc or qemu-system-arm missing (make setup installs them)")

WINDOW = 24  # frames: the motion front end leaves 23 rows, then 11 -> 5 -> 3 (strides 2, 2, 1)
HOP = 12  # frames per windowed invoke (the decoding hop of this tiny encoder)


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The encoder architecture (motion front end, three ST-GCN blocks with valid strided
    temporal convolutions, joint pooling, memory, cross K/V) at a tiny size, full int8."""
    pytest.importorskip("tensorflow")
    from export.zoo import tiny_encoder_int8

    path = tmp_path_factory.mktemp("stream") / "encoder.tflite"
    path.write_bytes(tiny_encoder_int8(WINDOW, HOP))
    return path


def test_bench_streams_the_student_encoder_on_one_board(tiny_encoder: Path) -> None:
    enc = BenchModel("student encoder", "student", str(tiny_encoder), "encoder",
                     "tiny test encoder", hop_frames=HOP)
    res, _ = run_bench(BenchOptions(models=(enc,), boards=("qemu-m7",), host=False, peer=False,
                                    stream_hop=4))
    assert not [u for u in res.unavailable if "TFLite Micro" not in u.reason], res.unavailable
    (run,) = res.stream_runs
    (row,) = res.stream
    windowed = next(r for r in res.board if r.kernels == "acle")
    assert (row.name, row.board, row.hop_frames) == ("student encoder, streamed (hop 4)",
                                                     "qemu-m7", 4)
    assert len(run.hop_counts) == run.warmup_hops + 5 and run.warmup_hops == WINDOW // 4
    assert row.hop_instructions == sorted(run.hop_counts[run.warmup_hops:])[2] > 0
    assert row.hop_instructions < windowed.total_instructions == row.windowed_instructions
    assert row.frame_instructions == round(row.hop_instructions / 4)
    assert row.windowed_frame_instructions == round(windowed.total_instructions / HOP)
    assert row.frame_instructions < row.windowed_frame_instructions
    assert row.frame_saving > 1.0
    assert row.sram_bytes == run.image_static_ram_bytes + run.stack_bound_bytes > run.state_bytes
    assert row.windowed_sram_bytes > 0 and row.flash_bytes > 0 and row.windowed_flash_bytes > 0
    (peer,) = res.unavailable  # TFLite Micro: no streamed row, a reason instead
    assert "streamed (hop 4)" in peer.what and "no TFLite Micro + CMSIS-NN board image" in peer.reason
    md = render_markdown(res, "foley-edge bench (test)")
    assert f"## {STREAM_SECTION}" in md
    assert f"| student encoder, streamed (hop 4) | qemu-m7 | 4 | {row.hop_instructions:,} |" in md
    assert f"{row.frame_instructions:,} instructions per frame against" in md
    # the README block carries the headline line when the results have the section
    base = "## On the board: ours vs TFLite Micro + CMSIS-NN\n\nx\n\n## Budget of the STM32F746 " \
           "class (320 KB SRAM, 1 MB flash, 216 MHz)\n\ny\n"
    assert "Streamed:" not in render(base, "r.md")
    stream_md = md[md.index(f"## {STREAM_SECTION}"):].split("\n## ")[0]
    assert "Streamed: student encoder, streamed (hop 4) on qemu-m7" in render(
        base + "\n" + stream_md, "r.md")
