"""TinyEngine's in-place DEPTHWISE_CONV_2D, Helium padded-plane family (``fe_dw_mve.h``), on the
emulated boards, and the scratch the planner reserves for it.

``c/kernel_board_dw_inplace_cases.c`` runs fe_depthwise_conv2d_inplace on 3x3 / 5x5 / 7x7 /
3x5 / 1x1 filters, strides 1-3, dilation_h 2, SAME, VALID and asymmetric explicit pads, rows of
1..30 output columns, 1 / 3 / 16 / 17 / 33 channels, input offsets 128, -5 and 0, with and
without bias, against a naive loop with TFLite's requantization, in a scratch sized exactly as
``export/scratch.py`` reserves it and followed by canaries. On qemu-m55 planes of 32 output
pixels or more take the Helium path; qemu-m55 with ``-DFE_KERNELS_PORTABLE`` and qemu-m7 run the
same cases on the portable and DSP paths. QEMU's exit status is the image's mismatch count.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from board_image import build_image, needs_arm, run_image

from export.codegen import KERNEL_DIR
from export.ir import Graph, Operator, Tensor
from export.scratch import DW_MIN_PLANE, DW_SMALL_LANES, depthwise_plane_bytes, scratch_bytes

CASES = Path(__file__).resolve().parent / "c" / "kernel_board_dw_inplace_cases.c"
KERNELS = ("depthwise_conv2d", "fixedpoint")


@needs_arm
@pytest.mark.parametrize(("board_name", "portable"), [("qemu-m55", False), ("qemu-m55", True),
                                                      ("qemu-m7", False)])
def test_dw_inplace_equal_naive_on_board(tmp_path: Path, board_name: str,
                                         portable: bool) -> None:
    out = run_image(board_name, build_image(board_name, tmp_path, CASES, KERNELS, portable=portable),
                    timeout=120)
    assert "dw inplace board cases: all equal" in out, out[-400:]


def _dw_graph(in_hw: tuple[int, int], out_hw: tuple[int, int], f: tuple[int, int],
              stride: int, dil_h: int) -> tuple[Graph, Operator]:
    ch = 8
    t = (Tensor(0, "x", (1, *in_hw, ch), "int8"), Tensor(1, "w", (1, *f, ch), "int8"),
         Tensor(2, "y", (1, *out_hw, ch), "int8"))
    op = Operator(0, "DEPTHWISE_CONV_2D", (0, 1), (2,),
                  {"stride_h": stride, "stride_w": stride, "dilation_h_factor": dil_h,
                   "dilation_w_factor": 1, "depth_multiplier": 1})
    return Graph("dw", t, (op,), (0,), (2,)), op


@pytest.mark.parametrize(("in_hw", "out_hw", "f", "stride", "dil_h", "plane"), [
    ((20, 20), (20, 20), (3, 3), 1, 1, 22 * 22 + 3),        # SAME 3x3: 22 rows of 22
    ((20, 20), (10, 10), (7, 7), 2, 1, 25 * 25 + 6),        # 7x7 stride 2: 25 rows of 25
    ((13, 13), (11, 11), (3, 3), 1, 1, 13 * 13 + 3),        # VALID
    ((14, 11), (14, 11), (3, 3), 1, 2, 18 * 13 + 3),        # dilation_h 2: 13 + 4 + 1 rows
    ((5, 5), (5, 5), (7, 7), 1, 1, 11 * 11 + 3),            # small plane: 16 x 25 rules
])
def test_inplace_depthwise_scratch_holds_padded_plane(in_hw: tuple[int, int],
                                                      out_hw: tuple[int, int],
                                                      f: tuple[int, int], stride: int,
                                                      dil_h: int, plane: int) -> None:
    graph, op = _dw_graph(in_hw, out_hw, f, stride, dil_h)
    assert depthwise_plane_bytes(graph, op) == plane
    pixels = out_hw[0] * out_hw[1]
    small = 16 * pixels if pixels < 32 else 0
    assert scratch_bytes(graph, op, inplace=True) == max(plane, pixels, small)
    assert scratch_bytes(graph, op, inplace=False) == 0


def test_small_plane_rule_matches_kernel() -> None:
    """export/scratch.py's small-plane threshold and lanes are the kernel's."""
    text = (KERNEL_DIR / "fe_dw_mve.h").read_text()
    assert f"#define FE_MVE_DW_MIN_PLANE {DW_MIN_PLANE}\n" in text
    assert DW_SMALL_LANES == 16 and "scratch + 16 * i" in text
