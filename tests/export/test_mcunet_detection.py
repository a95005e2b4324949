"""TinyEngine's person-detection model (FPN, two RESIZE_NEAREST_NEIGHBOR), whole model:
``foley-edge plan`` and ``codegen`` accept it, and ``foley-edge infer`` gives the same bytes with
the generated C (``--backend c``) as with TFLite Micro (``--backend tflm``) on random inputs.

Needs ``../shared/models/mcunet-detection.tflite`` beside the repository (skipped otherwise).
Slow: the generated C is about 0.9 MB and is compiled for the host.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL = REPO_ROOT.parent / "shared" / "models" / "mcunet-detection.tflite"
OUTPUTS = ((1, 4, 5, 18), (1, 8, 10, 18), (1, 16, 20, 18))
"""The model's three detection heads (shared/models/README.md)."""

pytestmark = pytest.mark.skipif(not MODEL.is_file(), reason=f"{MODEL} not present")


def _cli(*args: str) -> str:
    """Run the ``foley-edge`` command line; return its stdout."""
    entry = "import sys; from foley_edge.cli import main; sys.exit(main())"
    proc = subprocess.run([sys.executable, "-c", entry, *args], capture_output=True, text=True,
                          cwd=REPO_ROOT, check=False)
    assert proc.returncode == 0, f"foley-edge {' '.join(args)}: exit {proc.returncode}\n{proc.stderr}"
    return proc.stdout


def test_plan_and_codegen_accept_the_model(tmp_path: Path) -> None:
    from export.planner.memory import plan_memory
    from export.planner.verify import verify_plan
    from export.tflite_reader import read_tflite

    graph = read_tflite(MODEL)
    resizes = [op for op in graph.operators if op.op == "RESIZE_NEAREST_NEIGHBOR"]
    assert len(resizes) == 2
    plan = plan_memory(graph)
    verify_plan(graph, plan)
    for op in resizes:  # no aliasing: the upsampled copy never sits on its source
        assert op.outputs[0] not in plan.aliases
    _cli("codegen", str(MODEL), "--out", str(tmp_path / "c"))
    text = (tmp_path / "c" / "model.c").read_text()
    assert text.count("fe_resize_nearest(&") == 2


def test_c_backend_matches_tflm_byte_for_byte(tmp_path: Path) -> None:
    rng = np.random.default_rng(16)
    for k in range(2):
        x = tmp_path / f"x{k}.npy"
        # the input's int8 range is about [-2.58, 3.42] (scale 0.0235, zero point -18): cover
        # it, a little past both ends (QUANTIZE saturates)
        np.save(x, rng.uniform(-3.0, 4.0, (1, 128, 160, 3)).astype(np.float32))
        outs = {}
        for backend in ("c", "tflm"):
            y = tmp_path / f"y{k}_{backend}.npy"
            _cli("infer", str(MODEL), "--input", str(x), "--output", str(y), "--backend", backend)
            names = [y, *(y.with_suffix(f".{j}.npy") for j in range(1, len(OUTPUTS)))]
            outs[backend] = [np.load(p) for p in names]
        assert sorted(o.shape for o in outs["c"]) == sorted(OUTPUTS)
        for j, (a, b) in enumerate(zip(outs["c"], outs["tflm"], strict=True)):
            assert a.dtype == b.dtype and a.shape == b.shape, (j, a.dtype, a.shape, b.dtype, b.shape)
            assert a.tobytes() == b.tobytes(), (
                f"input {k} output {j}: {int(np.count_nonzero(a != b))} of {a.size} values differ")
