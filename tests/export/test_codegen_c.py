"""Generated C: golden text for a tiny hand-built graph, warning-free builds for the host and
the Cortex-M4/M7/M55 (portable and ACLE paths), two prefixed models in one image, errors."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from export.codegen import KERNEL_DIR, CodegenError, emit_c
from export.ir import Graph, Operator, Quantization, Tensor
from export.planner.memory import plan_memory

GOLDEN = Path(__file__).parent / "golden"
ARM_TARGETS = {
    "m4": ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
    "m7": ["-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16"],
    "m55": ["-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"],
}
WARN = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror"]


def tiny_graph() -> Graph:
    """FULLY_CONNECTED (+bias, RELU) -> SOFTMAX on a [1, 8] int8 input, weights from a seed."""
    rng = np.random.default_rng(5)
    w = rng.integers(-127, 128, (4, 8), dtype=np.int8)
    b = rng.integers(-500, 500, (4,), dtype=np.int32)
    q = Quantization
    tensors = (
        Tensor(0, "x", (1, 8), "int8", q((0.05,), (3,))),
        Tensor(1, "w", (4, 8), "int8", q((0.01,), (0,)), data=w.tobytes()),
        Tensor(2, "b", (4,), "int32", q((0.0005,), (0,)), data=b.tobytes()),
        Tensor(3, "h", (1, 4), "int8", q((0.1,), (-2,))),
        Tensor(4, "y", (1, 4), "int8", q((1 / 256,), (-128,))),
    )
    ops = (
        Operator(0, "FULLY_CONNECTED", (0, 1, 2), (3,), {"fused_activation_function": "RELU"}),
        Operator(1, "SOFTMAX", (3,), (4,), {"beta": 1.0}),
    )
    return Graph("tiny", tensors, ops, inputs=(0,), outputs=(4,))


def test_golden_text() -> None:
    g = tiny_graph()
    files = emit_c(g, plan_memory(g), prefix="tiny")
    assert sorted(files) == ["tiny.c", "tiny.h"]
    if os.environ.get("FOLEY_EDGE_UPDATE_GOLDEN"):
        for name, text in files.items():
            (GOLDEN / name).write_text(text)
    for name, text in files.items():
        assert text == (GOLDEN / name).read_text(), f"{name} differs from tests/export/golden"


def _write(dirpath: Path, files: dict[str, str]) -> list[str]:
    for name, text in files.items():
        (dirpath / name).write_text(text)
    return [str(dirpath / n) for n in files if n.endswith(".c")]


def _kernel_sources() -> list[str]:
    return [str(k) for k in sorted(KERNEL_DIR.glob("*.c"))]


def _all_model_sources(zoo, dirpath: Path) -> list[str]:
    """The tiny graph and every zoo model (the decoder step with persistent caches), emitted as
    the code generator plans them (the gcn streamed in bands)."""
    from export.planner.bands import plan_model
    from export.tflite_reader import read_tflite
    from export.zoo import ZOO_MODELS

    g = tiny_graph()
    srcs = _write(dirpath, emit_c(g, plan_memory(g), prefix="tiny"))
    for name in ZOO_MODELS:
        graph = read_tflite(zoo[name])
        pers = [i for i in graph.inputs if "cache" in graph.tensors[i].name]
        graph, plan, _ = plan_model(graph, persistent=pers)
        srcs += _write(dirpath, emit_c(graph, plan, prefix=name))
    return srcs


def test_host_build_warning_free_every_zoo_model(zoo, tmp_path: Path) -> None:
    srcs = _all_model_sources(zoo, tmp_path)
    for src in srcs:
        proc = subprocess.run(["gcc", *WARN, f"-I{KERNEL_DIR}", f"-I{tmp_path}", "-c", src, "-o",
                               str(tmp_path / (Path(src).stem + ".o"))],
                              capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("target", sorted(ARM_TARGETS))
def test_arm_build_warning_free(zoo, tmp_path: Path, target: str) -> None:
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        pytest.skip("arm-none-eabi-gcc not installed (make setup installs it)")
    srcs = _all_model_sources(zoo, tmp_path)
    for src in [*srcs, *_kernel_sources()]:
        cmd = [gcc, *WARN, *ARM_TARGETS[target], f"-I{KERNEL_DIR}", f"-I{tmp_path}", "-c", src,
               "-o", str(tmp_path / (Path(src).stem + ".o"))]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
    dsp = subprocess.run([gcc, *ARM_TARGETS[target], "-dM", "-E", "-x", "c", os.devnull],
                         capture_output=True, text=True, check=True).stdout
    assert "__ARM_FEATURE_DSP 1" in dsp  # the ACLE path is the one compiled above


@pytest.mark.parametrize("defines", [(), ("-DFE_KERNELS_PORTABLE",)])
def test_portable_switch_selects_path(tmp_path: Path, defines: tuple[str, ...]) -> None:
    """-DFE_KERNELS_PORTABLE forces the plain C path on a DSP core: no SMLAD in the code."""
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        pytest.skip("arm-none-eabi-gcc not installed (make setup installs it)")
    obj = tmp_path / "dot.s"
    subprocess.run([gcc, *WARN, *ARM_TARGETS["m4"], *defines, "-S", str(KERNEL_DIR / "dot.c"),
                    "-o", str(obj)], check=True, capture_output=True)
    assert ("smlad" in obj.read_text()) == (not defines)


MAIN = """#include <stdio.h>
#include "enc.h"
#include "dec.h"
int main(void) {
  int i;
  enc_init(); dec_init();
  for (i = 0; i < (int)enc_input_bytes(0); ++i) { enc_input(0)[i] = (int8_t)(i * 7); dec_input(0)[i] = (int8_t)(i * 7); }
  if (enc_invoke() != 0 || dec_invoke() != 0) return 1;
  for (i = 0; i < (int)enc_output_bytes(0); ++i) printf("%d %d\\n", enc_output(0)[i], dec_output(0)[i]);
  return ENC_ARENA_BYTES == DEC_ARENA_BYTES ? 0 : 2;
}
"""


def test_two_prefixed_models_link_into_one_image(tmp_path: Path) -> None:
    g = tiny_graph()
    plan = plan_memory(g)
    srcs = _write(tmp_path, {**emit_c(g, plan, prefix="enc"), **emit_c(g, plan, prefix="dec_"),
                             "main.c": MAIN})
    exe = tmp_path / "both"
    subprocess.run(["gcc", *WARN, f"-I{KERNEL_DIR}", f"-I{tmp_path}", *srcs, *_kernel_sources(),
                    "-lm", "-o", str(exe)], check=True, capture_output=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()
    pairs = list(zip(out[::2], out[1::2], strict=True))
    assert len(pairs) == 4 and all(a == b for a, b in pairs)


def test_unsupported_op_names_operator() -> None:
    g = tiny_graph()
    bad = dataclasses.replace(g, operators=(g.operators[0], dataclasses.replace(
        g.operators[1], op="GELU")))
    with pytest.raises(CodegenError, match=r"operator 1 GELU has no kernel"):
        emit_c(bad, plan_memory(bad))


def test_bad_prefix_rejected() -> None:
    g = tiny_graph()
    with pytest.raises(CodegenError, match="not a C identifier"):
        emit_c(g, plan_memory(g), prefix="9lives")


def test_softmax_output_quantization_checked() -> None:
    g = tiny_graph()
    t = list(g.tensors)
    t[4] = dataclasses.replace(t[4], quant=Quantization((0.01,), (0,)))
    with pytest.raises(CodegenError, match="scale 1/256 and zero point -128"):
        emit_c(dataclasses.replace(g, tensors=tuple(t)), plan_memory(g))


def test_fc_input_offset_folded_into_bias() -> None:
    """bias' = bias + input_offset * row sums of the weights; the kernel sees input_offset 0."""
    g = tiny_graph()
    text = emit_c(g, plan_memory(g), prefix="tiny")["tiny.c"]
    w = g.tensors[1].numpy().astype(np.int64)
    b = g.tensors[2].numpy().astype(np.int64)
    folded = b + (-3) * w.sum(axis=1)  # input zero point 3 -> input_offset -3
    assert folded.tolist() == [-610, -723, -202, 915]  # by hand: 479 - 3 * 363 = -610 ...
    assert "tiny_op0_bias[4] = {\n  " + ", ".join(map(str, folded)) + "," in text
    assert ".input_offset = 0," in text


PROBE_MAIN = """#include <stdio.h>
#include "tiny.h"
void probe(int step) { printf("%d ", step); }
int main(void) { tiny_init(); return tiny_invoke(); }
"""


@pytest.mark.parametrize("defines", [("-DFE_OP_PROBE=probe",), ()])
def test_op_probe_hook(tmp_path: Path, defines: tuple[str, ...]) -> None:
    """-DFE_OP_PROBE=fn calls fn(k) before operator k and fn(n) after the last; else nothing."""
    g = tiny_graph()
    srcs = _write(tmp_path, {**emit_c(g, plan_memory(g), prefix="tiny"), "main.c": PROBE_MAIN})
    exe = tmp_path / "probed"
    subprocess.run(["gcc", *WARN, *defines, f"-I{KERNEL_DIR}", f"-I{tmp_path}", *srcs,
                    *_kernel_sources(), "-o", str(exe)], check=True, capture_output=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()
    assert out == (["0", "1", "2"] if defines else [])
