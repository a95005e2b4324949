"""Whole generated models on the emulated boards, byte for byte with tflite-micro.

The kernel board cases (test_kernels_board*.py) check each kernel path against a naive loop;
this file checks what the code generator emits for a board's core as a whole: on the M4 the
DSP build takes CONV_2D's and single-row FULLY_CONNECTED's weights widened at build time
(``fe_conv_params.filter_wide``, ``fe_fully_connected_wide``: the generated C links only that
copy), on the M55 the Helium build keeps the int8 weights. One
image per board holds every model (each with its own prefix), random int8 inputs and
tflite-micro's outputs for them; it prints one line per model and exits with the number of
mismatching outputs.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from board_image import build_model_image, needs_arm

from export.backends import run_model_many
from export.codegen import KERNEL_DIR
from export.codegen.cformat import c_array
from export.codegen.emit import emit_c
from export.codegen.fixedpoint import rdbpot, srdhm
from export.codegen.ops_linear import (
    CONV_WIDE_MAX_K,
    MVE_GATHER_K,
    MVE_PX4_MAX_K,
    _mve_rq,
    _pair_filter,
    _wide_filter,
    _wide_rq,
)
from export.planner.memory import plan_memory
from export.planner.verify import verify_plan
from export.tflite_reader import read_tflite

CONV_CASES = ("conv_s2_same_relu", "conv_dilated_valid_relu6", "conv_1x3_s1x2_same",
              "depthwise_inplace_valid", "conv_wide_pointwise_odd", "conv_wide_3x3_k27_same",
              "conv_wide_k360_valid", "conv_wide_pointwise_k8_k16",
              "conv_pairs_pointwise_k196_k200")
"""op_models cases with CONV_2D: every shape class of the widened GEMM path and one over it."""
FC_CASES = ("fully_connected_relu", "fully_connected_wide_tail")
"""op_models cases with a single-row FULLY_CONNECTED, widened on DSP builds (1 and 3 features in
the last group of four)."""

SAMPLES = 3


def test_wide_limit_is_the_kernels_pair_buffer() -> None:
    text = (KERNEL_DIR / "fe_conv_gemm.h").read_text()
    m = re.search(r"#define CG_MAX_K (\d+)", text)
    assert m is not None and int(m.group(1)) == CONV_WIDE_MAX_K


def test_wide_layout_unpacks_to_the_weights(op_models) -> None:
    """Each word holds values (0, 2) or (1, 3) of a group of four, doubled, channel pairs
    interleaved, zeros past k and for an odd last channel's partner."""
    graph = read_tflite(op_models["conv_wide_3x3_k27_same"][0])
    conv = next(op for op in graph.operators if op.op == "CONV_2D")
    w = graph.tensors[conv.inputs[1]]
    oc, k = w.shape[0], int(np.prod(w.shape[1:]))
    words = _wide_filter(w, [1 << 30] * oc, [-8] * oc, np.zeros(oc, np.int64))
    assert words is not None and (oc, k) == (5, 27)
    groups = -(-k // 4)
    halves = np.stack([words & 0xFFFF, words >> 16], axis=-1).astype(np.uint16).view(np.int16)
    v = halves.reshape(3, groups, 2, 2, 2)  # pair, group, channel, (even, odd), half
    values = np.empty((3, 2, groups, 4), np.int64)
    values[..., [0, 2]] = v[:, :, :, 0, :].transpose(0, 2, 1, 3)
    values[..., [1, 3]] = v[:, :, :, 1, :].transpose(0, 2, 1, 3)
    rows = values.reshape(6, groups * 4)
    want = np.zeros((6, groups * 4), np.int64)
    want[:5, :27] = 2 * w.numpy().astype(np.int64).reshape(5, 27)
    np.testing.assert_array_equal(rows, want)
    # out of fe_rq8z's range (shift 0) or over the pair buffer: int8 weights kept
    assert _wide_filter(w, [1 << 30] * oc, [0] * oc, np.zeros(oc, np.int64)) is None
    big = read_tflite(op_models["conv_wide_k360_valid"][0])
    wb = big.tensors[next(op for op in big.operators if op.op == "CONV_2D").inputs[1]]
    assert _wide_filter(wb, [1 << 30] * 4, [-8] * 4, np.zeros(4, np.int64)) is None


def test_pair_layout_unpacks_to_the_weights(op_models) -> None:
    """Per channel pair and group of four, channel c's four bytes then channel c + 1's, a zero
    partner for an odd last channel; int8 rows kept up to the pair buffer's k or for k not a
    multiple of 4."""
    graph = read_tflite(op_models["conv_pairs_pointwise_k196_k200"][0])
    convs = [op for op in graph.operators if op.op == "CONV_2D"]
    w = graph.tensors[convs[1].inputs[1]]
    oc, k = w.shape[0], int(np.prod(w.shape[1:]))
    words = _pair_filter(w, [1 << 30] * oc, [-8] * oc, np.zeros(oc, np.int64))
    assert words is not None and (oc, k) == (7, 200)
    v = words.astype("<u4").view(np.int8).reshape(4, k // 4, 2, 4)  # pair, group, channel, value
    rows = v.transpose(0, 2, 1, 3).reshape(8, k)
    want = np.zeros((8, k), np.int8)
    want[:7] = w.numpy().reshape(7, k)
    np.testing.assert_array_equal(rows, want)
    assert _pair_filter(w, [1 << 30] * oc, [0] * oc, np.zeros(oc, np.int64)) is None
    small = read_tflite(op_models["conv_wide_pointwise_odd"][0])
    ws = small.tensors[next(op for op in small.operators if op.op == "CONV_2D").inputs[1]]
    assert _pair_filter(ws, [1 << 30] * 17, [-8] * 17, np.zeros(17, np.int64)) is None


def test_wide_rq_records_and_their_int32_bound(op_models) -> None:
    """{2 bias, multiplier, 2^(r-1) + zp 2^r, r} per channel, a zero row after an odd count;
    None once |round| + the largest SRDHM could leave int32."""
    graph = read_tflite(op_models["conv_wide_3x3_k27_same"][0])
    w = graph.tensors[next(op for op in graph.operators if op.op == "CONV_2D").inputs[1]]
    bias = np.array([5, -7, 0, 1, 2], np.int64)
    rq = _wide_rq(w, [1 << 30] * 5, [-1, -2, -3, -8, -8], bias, -3)
    assert rq is not None and rq.shape == (6, 4)
    np.testing.assert_array_equal(rq[:2], [[10, 1 << 30, 1 - 6, 1], [-14, 1 << 30, 2 - 12, 2]])
    np.testing.assert_array_equal(rq[5], [0, 0, 0, 1])
    # r = 24 with zp 127: round = 2^23 + 127 * 2^24 = 2^31 - 2^23, so SRDHM may reach only
    # 2^23 - 2; a bias of 2^24 with m near 2^31 alone gives about 2^24
    assert _wide_rq(w, [(1 << 31) - 1] * 5, [-24] * 5, bias * 0 + (1 << 24), 127) is None


MVE_CASES = ("conv_s2_same_relu", "conv_dilated_valid_relu6", "conv_1x3_s1x2_same",
             "conv_wide_3x3_k27_same", "conv_wide_pointwise_odd", "conv_wide_pointwise_k8_k16")
"""CONV_CASES whose Helium builds take fe_conv_px4_mve.h (requantization records): windows of
4-36 values with and without padding and input offset, pointwise over 8-18 channels, planes
of 25-81 pixels (a short last block)."""


def test_mve_limits_are_the_kernels() -> None:
    px4 = (KERNEL_DIR / "fe_conv_px4_mve.h").read_text()
    gather = (KERNEL_DIR / "fe_conv_mve.h").read_text()
    m = re.search(r"#define FE_MVE_PX4_MAX_K (\d+)", px4)
    assert m is not None and int(m.group(1)) == MVE_PX4_MAX_K
    m = re.search(r"#define FE_MVE_GK (\d+)", gather)
    assert m is not None and int(m.group(1)) == MVE_GATHER_K


def _mve_apply(s: int, rec: list[int]) -> int:
    """fe_conv_px4_mve.h's requantization of an int32 sum s with one fe_conv_rq_mve record, as
    the Helium instructions do it (VADD, VQRDMULH, VSHR #31 + VQADD, VQADD, VQSHL, VSHR #24)."""
    def sat(v: int) -> int:
        return min(2**31 - 1, max(-(2**31), v))
    bias, mult, rnd, lsh = rec
    v = sat((2 * (s + bias) * mult + 2**31) >> 32)
    v = sat(v + (v >> 31))
    v = sat(v + rnd)
    return sat(v << lsh) >> 24


def test_mve_rq_records_equal_tflite_requantization(op_models) -> None:
    """{bias + input_offset sum(w), mult, 2^(r-1) + zp 2^r, 24 - r}; applied as the kernel does,
    equal to TFLite's MultiplyByQuantizedMultiplier + zp clamped to int8 for sums across the
    whole range (saturating ones included); None outside int8's activation range or shifts
    -24..-1."""
    graph = read_tflite(op_models["conv_wide_3x3_k27_same"][0])
    w = graph.tensors[next(op for op in graph.operators if op.op == "CONV_2D").inputs[1]]
    f = {"in_h": 7, "in_w": 7, "in_c": 3, "out_h": 7, "out_w": 7, "filter_h": 3, "filter_w": 3,
         "stride_h": 1, "stride_w": 1, "dilation_h": 1, "dilation_w": 1, "pad_h": 1, "pad_w": 1,
         "act_min": -128, "act_max": 127}
    wsum = w.numpy().astype(np.int64).reshape(5, -1).sum(axis=1)
    rng = np.random.default_rng(3)
    for shift, zp in ((-1, 0), (-7, -128), (-13, 5), (-24, 127), (-24, -128)):
        mults = [int(m) for m in rng.integers(1 << 30, 1 << 31, 5)]
        rq = _mve_rq(w, None, f, mults, [shift] * 5, 3, zp)
        assert rq is not None
        np.testing.assert_array_equal(rq[:, 0], 3 * wsum)
        np.testing.assert_array_equal(rq[0, 2:], [(1 << (-shift - 1)) + zp * (1 << -shift),
                                                 24 + shift])
        sums = [int(v) for v in np.concatenate([rng.integers(-(2**30), 2**30, 200),
                                                rng.integers(-(2**20), 2**20, 200)])]
        for c in range(5):
            rec = [int(v) for v in rq[c]]
            want = [min(127, max(-128, rdbpot(srdhm(v + rec[0], mults[c]), -shift) + zp))
                    for v in [*sums, 0, -1, 1]]
            got = [_mve_apply(v, rec) for v in [*sums, 0, -1, 1]]
            assert got == want, f"shift {shift}, zp {zp}"
    assert _mve_rq(w, None, {**f, "act_min": 0}, mults, [-7] * 5, 3, 0) is None
    assert _mve_rq(w, None, f, mults, [-7, -7, 0, -7, -7], 3, 0) is None
    assert _mve_rq(w, None, f, mults, [-25] * 5, 3, 0) is None


def _main(names: list[str], prefixes: list[str], graphs: list) -> str:
    """The image's main: per model, every sample through {prefix}_invoke, outputs compared."""
    lines = ['#include <stdint.h>', '#include "semihost.h"', '#include "board.h"',
             '#include "model_cases.h"']
    lines += [f'#include "{p}.h"' for p in prefixes]
    lines += ["static int report(const char *name, int bad) {",
              "  semihost_write0(name);",
              '  semihost_write0(bad ? " MISMATCH\\n" : " equal\\n");',
              "  return bad;", "}", "int main(void) {", "  int bad = 0, s, i, k;",
              "  board_init();"]
    for name, p, g in zip(names, prefixes, graphs, strict=True):
        lines += ["  {", "    int model_bad = 0;",
                  f"    const int8_t *in = {p}_case_in, *want = {p}_case_out;",
                  f"    if ({p}_init() != 0) return 100;",
                  f"    for (s = 0; s < {SAMPLES}; ++s) {{"]
        for i in range(len(g.inputs)):
            lines += [f"      for (k = 0; k < (int){p}_input_bytes({i}); ++k) "
                      f"{p}_input({i})[k] = in[k];",
                      f"      in += {p}_input_bytes({i});"]
        lines += [f"      model_bad += {p}_invoke() != 0;",
                  f"      for (i = 0; i < {len(g.outputs)}; ++i) {{",
                  f"        for (k = 0; k < (int){p}_output_bytes(i); ++k) "
                  f"model_bad += {p}_output(i)[k] != want[k];",
                  f"        want += {p}_output_bytes(i);", "      }", "    }",
                  f'    bad += report("{name}", model_bad);', "  }"]
    lines += ["  return bad;", "}", ""]
    return "\n".join(lines)


@needs_arm
@pytest.mark.parametrize("board_name", ["qemu-m4", "qemu-m55"])
def test_conv_and_fc_models_equal_tflm_on_board(op_models, zoo, tmp_path: Path, board_name: str
                                         ) -> None:
    from firmware_bridge.boards.registry import get_board

    paths = {name: op_models[name][0] for name in CONV_CASES + FC_CASES} | \
        {"zoo_cnn": zoo["cnn"], "zoo_mlp": zoo["mlp"]}
    files: dict[str, str] = {}
    cases: list[str] = []
    prefixes, graphs = [], []
    rng = np.random.default_rng(7)
    for k, (name, path) in enumerate(paths.items()):
        p = f"m{k}"
        graph = read_tflite(path)
        inplace = name.startswith("depthwise_inplace")
        plan = plan_memory(graph, slides=not inplace, inplace_depthwise=True if inplace else None)
        verify_plan(graph, plan)
        code = emit_c(graph, plan, prefix=p)
        if name.startswith("conv_wide_") and name != "conv_wide_k360_valid":
            assert "#if FE_CONV_WIDE" in code[f"{p}.c"] and "_ww[" in code[f"{p}.c"]
            # the records replace the int8 tables there
            assert re.search(r"#if !FE_CONV_WIDE( && !FE_KERNELS_MVE)?\nstatic const int32_t "
                             r"\w+_mult\[", code[f"{p}.c"])
        if name in MVE_CASES:
            assert ".mve_rq = " in code[f"{p}.c"], name
        if name.startswith("conv_pairs_"):
            assert code[f"{p}.c"].count("filter_pairs = ") == 2
        if name in FC_CASES or name == "zoo_mlp":
            assert "fe_fully_connected_wide(" in code[f"{p}.c"]
        files.update(code)
        samples = [[rng.integers(-128, 128, graph.tensors[i].shape, dtype=np.int8)
                    for i in graph.inputs] for _ in range(SAMPLES)]
        want = run_model_many(path, samples, "tflm")
        cases.append(c_array("int8_t", f"{p}_case_in",
                             [int(v) for s in samples for a in s for v in a.reshape(-1)]))
        cases.append(c_array("int8_t", f"{p}_case_out",
                             [int(v) for o in want for a in o for v in a.reshape(-1)]))
        prefixes.append(p)
        graphs.append(graph)
    files["model_cases.h"] = "#include <stdint.h>\n" + "\n".join(cases) + "\n"
    files["model_board_main.c"] = _main(list(paths), prefixes, graphs)
    elf = build_model_image(board_name, tmp_path, files)
    proc = subprocess.run(["qemu-system-arm", "-machine", get_board(board_name).qemu_machine,
                           "-display", "none", "-monitor", "none", "-serial", "null",
                           "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)],
                          capture_output=True, text=True, timeout=300, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and out.count(" equal") == len(paths), out[-800:]


@needs_arm
def test_buffers_sized_for_the_model_stay_exact_on_helium(zoo, tmp_path: Path) -> None:
    """The firmware and the bench compile the kernels with their stack buffers sized for the
    model's calls (export/codegen/kernel_defines.py); the zoo gcn (im2col and pointwise
    convolutions through fe_mve_conv2d) built that way equals TFLite Micro on qemu-m55."""
    from export.codegen.kernel_defines import kernel_defines
    from firmware_bridge.boards.registry import get_board

    graph = read_tflite(zoo["gcn"])
    plan = plan_memory(graph)
    verify_plan(graph, plan)
    files = dict(emit_c(graph, plan, prefix="m0"))
    defines = kernel_defines(files)
    assert any(d.startswith("-DFE_MVE_MAX_K=") for d in defines), defines
    rng = np.random.default_rng(11)
    samples = [[rng.integers(-128, 128, graph.tensors[i].shape, dtype=np.int8)
                for i in graph.inputs] for _ in range(SAMPLES)]
    want = run_model_many(zoo["gcn"], samples, "tflm")
    files["model_cases.h"] = "#include <stdint.h>\n" + "\n".join([
        c_array("int8_t", "m0_case_in", [int(v) for s in samples for a in s for v in a.reshape(-1)]),
        c_array("int8_t", "m0_case_out", [int(v) for o in want for a in o for v in a.reshape(-1)]),
    ]) + "\n"
    files["model_board_main.c"] = _main(["zoo_gcn"], ["m0"], [graph])
    elf = build_model_image("qemu-m55", tmp_path, files, defines=defines)
    proc = subprocess.run(["qemu-system-arm", "-machine", get_board("qemu-m55").qemu_machine,
                           "-display", "none", "-monitor", "none", "-serial", "null",
                           "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)],
                          capture_output=True, text=True, timeout=300, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "zoo_gcn equal" in out, out[-800:]
