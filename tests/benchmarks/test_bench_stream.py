"""The bench's streamed encoder row (issue #20): a tiny encoder of the project's architecture,
benched as the student's on qemu-m7, gets a "streamed (hop 4)" row whose instructions per hop
are below one windowed invoke's, per frame too, beside the windowed figures in results.md, and
beside TFLite Micro + CMSIS-NN streaming the same segment of the same encoder on the same board
(one Invoke per hop, outputs equal to the tflite-micro wheel's; skipped without the peer's
sources). One bench run serves both tests; without the peer (--no-peer) no streamed peer task
runs and nothing is listed as missing for it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.models import BenchModel
from benchmarks.readme import render
from benchmarks.report import STREAM_SECTION, render_markdown
from benchmarks.runner import BenchOptions, BenchResults, _Acc, _stream_tasks, run_bench

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


def _encoder(path: Path) -> BenchModel:
    return BenchModel("student encoder", "student", str(path), "encoder", "tiny test encoder",
                      hop_frames=HOP)


@pytest.fixture(scope="module")
def bench(tiny_encoder: Path) -> BenchResults:
    """One bench run of the tiny encoder on qemu-m7, the peer included (its rows missing, with
    a reason, where its sources are)."""
    res, _ = run_bench(BenchOptions(models=(_encoder(tiny_encoder),), boards=("qemu-m7",),
                                    host=False, stream_hop=4))
    return res


def test_bench_streams_the_student_encoder_on_one_board(bench: BenchResults) -> None:
    res = bench
    ours = [u for u in res.unavailable if not u.what.endswith("(TFLite Micro + CMSIS-NN)")]
    assert not ours, res.unavailable
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


def test_bench_streams_tflite_micro_beside_ours_on_the_same_board(bench: BenchResults) -> None:
    pytest.importorskip("tflite_micro")
    from firmware_bridge.tflm.sources import peer_missing

    if (why := peer_missing()) is not None:
        pytest.skip(why)
    from export.tflm.stream import stream_tflite

    res = bench
    assert not res.unavailable, res.unavailable
    (run,) = res.stream_runs
    (peer,) = res.stream_peer
    (row,) = res.stream
    assert (peer.model, peer.board) == ("student encoder, streamed (hop 4)", "qemu-m7")
    assert peer.matches_wheel and peer.total_instructions > 0
    # the same segment streamed: the peer's state inputs hold the rows ours keeps
    (enc,) = res.models
    assert stream_tflite(Path(enc.path).read_bytes(), 4).streaming.state_bytes == run.state_bytes
    assert row.peer_hop_instructions == peer.total_instructions
    assert row.peer_frame_instructions == round(peer.total_instructions / 4)
    assert row.peer_sram_bytes == peer.arena_used_bytes + peer.static_ram_bytes > run.state_bytes
    assert row.peer_flash_bytes == peer.flash_bytes > 0
    assert row.hop_ratio == round(row.hop_instructions / peer.total_instructions, 3)
    assert row.sram_ratio == round(row.sram_bytes / peer.sram_bytes, 3)
    md = render_markdown(res, "foley-edge bench (test)")
    assert (f"| student encoder, streamed (hop 4) | qemu-m7 | 4 | {row.hop_instructions:,} | "
            f"{peer.total_instructions:,} | {row.hop_ratio:.2f} | {row.frame_instructions:,} | "
            f"{row.peer_frame_instructions:,} |") in md
    assert (f"TFLite Micro + CMSIS-NN streaming the same encoder: "
            f"{row.peer_frame_instructions:,} instructions per frame") in md
    assert "not measured, not estimated" not in md


def test_no_streamed_peer_without_the_peer(tiny_encoder: Path) -> None:
    acc = _Acc()
    opts = BenchOptions(models=(_encoder(tiny_encoder),), boards=("qemu-m7",), peer=False)
    assert [label for label, _ in _stream_tasks(opts.models[0], opts, acc)] == [
        "student encoder: qemu-m7 streamed (hop 4)"]
    assert acc.missing == []
