"""kernel_defines: the bench image's GEMM buffers sized for its model's calls (CG_MAX_K), the
same paths and instructions as the default build, and a smaller stack bound."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import benchmarks.toolchain as toolchain
from export.codegen.kernel_defines import (
    CG_MAX_K,
    MVE_MAX_K,
    MVE_MAX_OC,
    gemm_bounds,
    kernel_defines,
)

MODEL_C = """
static const fe_fc_params bench_op0_p = {.batches = 16, .accum_depth = 32, .output_depth = 64};
static const fe_fc_params bench_op1_p = {.batches = 1, .accum_depth = 150, .output_depth = 4};
static const fe_conv_params bench_op2_p = {.in_h = 3, .in_w = 13, .in_c = 12, .out_c = 8, .filter_h = 3, .filter_w = 1, .filter_wide = bench_c2_ww};
static const fe_conv_params bench_op3_p = {.in_h = 3, .in_w = 13, .in_c = 64, .out_c = 64, .filter_h = 3, .filter_w = 3};
int bench_invoke(void) {
  fe_fully_connected_rows(&bench_op0_p, a, w0, b0, o);
  fe_fully_connected(&bench_op1_p, a, w1, b1, o);
  fe_conv2d(&bench_op2_p, a, w2, b2, o);
  fe_depthwise_conv2d(&bench_op3_p, a, w3, b3, o);
  return 0;
}
"""


def test_gemm_bounds_read_only_the_calls_into_the_gemm_family() -> None:
    # fe_fully_connected (one row) and the depthwise call never reach fe_conv_gemm.h
    assert gemm_bounds({"bench.c": MODEL_C}) == (36, 64)  # k: 32 and 36; out_c 8, output_depth 64
    assert kernel_defines({"bench.c": MODEL_C}) == (
        "-DCG_MAX_K=36", "-DFE_MVE_MAX_K=48", "-DFE_MVE_MAX_OC=64")


def test_every_build_variant_of_a_call_counts() -> None:
    text = MODEL_C.replace("bench_op3_p", "bench_op2_p")  # a second initialiser, k = 576
    assert gemm_bounds({"bench.c": text}) == (576, 64)
    assert kernel_defines({"bench.c": text}) == ("-DFE_MVE_MAX_OC=64",)  # k: the defaults already


def test_rounding_floor_and_unreadable_calls_keep_it_safe() -> None:
    assert kernel_defines({"bench.c": MODEL_C.replace(".accum_depth = 32", ".accum_depth = 37")})[:2] \
        == ("-DCG_MAX_K=40", "-DFE_MVE_MAX_K=48")
    assert kernel_defines({"bench.c": "int bench_invoke(void) { return 0; }"}) == (
        "-DCG_MAX_K=4", "-DFE_MVE_MAX_K=16", "-DFE_MVE_MAX_OC=4")
    # a called struct not initialised here, or without the fields: the default (192)
    missing = MODEL_C.replace("static const fe_conv_params bench_op2_p", "extern fe_conv_params x")
    assert gemm_bounds({"bench.c": missing}) is None and kernel_defines({"bench.c": missing}) == ()
    no_field = MODEL_C.replace(".filter_w = 1, .filter_wide", ".filter_wide")
    assert gemm_bounds({"bench.c": no_field}) is None


def test_default_is_the_kernels() -> None:
    from export.codegen import KERNEL_DIR
    from export.codegen.ops_linear import CONV_WIDE_MAX_K

    assert f"#define CG_MAX_K {CG_MAX_K}\n" in (KERNEL_DIR / "fe_conv_gemm.h").read_text()
    mve = (KERNEL_DIR / "fe_gemm_mve.h").read_text()
    assert f"#define FE_MVE_MAX_K {MVE_MAX_K}\n" in mve and f"#define FE_MVE_MAX_OC {MVE_MAX_OC}\n" in mve
    assert CG_MAX_K == CONV_WIDE_MAX_K


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or
                    shutil.which("qemu-system-arm") is None,
                    reason="arm-none-eabi-gcc or qemu-system-arm missing (make setup installs them)")
@pytest.mark.parametrize(("board_name", "zoo_name", "first"), [
    # FULLY_CONNECTED rows of k 32 and 64: the DSP pointwise GEMM
    ("qemu-m7", "attention", "-DCG_MAX_K=64"),
    # im2col convolutions and pointwise rows through fe_mve_conv2d
    ("qemu-m55", "gcn", "-DCG_MAX_K=48"),
])
def test_sized_image_runs_the_same_instructions_under_a_smaller_bound(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, board_name: str, zoo_name: str,
        first: str) -> None:
    from benchmarks.board import run_on_board
    from benchmarks.models import zoo_models
    from firmware_bridge.boards.registry import get_board

    board = get_board(board_name)
    m = zoo_models((zoo_name,))[0]
    gen = toolchain.generate(m)
    assert kernel_defines(gen.files)[0] == first
    sized = run_on_board(gen, m.name, board, work=tmp_path / "sized")
    monkeypatch.setattr(toolchain, "kernel_defines", lambda files: ())
    default = run_on_board(gen, m.name, board, work=tmp_path / "default")
    assert sized.image_static_ram_bytes == default.image_static_ram_bytes
    if board_name == "qemu-m7":
        assert [o.instructions for o in sized.ops] == [o.instructions for o in default.ops]
        # the widened pair buffer: 4 * 192 bytes against 4 * 64
        assert default.stack_bound_bytes - sized.stack_bound_bytes == 4 * (192 - 64)
        return
    # Helium: the same paths (QEMU's M55 counts differ by a few where the compiler lays out the
    # constant-bound loops differently; tests/export/test_model_board.py checks the outputs)
    total = sum(o.instructions for o in default.ops)
    assert abs(sum(o.instructions for o in sized.ops) - total) < 0.01 * total
    assert sized.stack_bound_bytes < default.stack_bound_bytes - 1024
