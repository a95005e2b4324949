"""TinyEngine's mcunet-vww1 with its four explicit PADs folded into the convolutions that read
them: the planned peak drops below TinyEngine's own layer-by-layer 93,992 B (it was 161,472 B
with the 40x40x48 -> 42x42x48 copy), and the generated C gives the same bytes as tflite-micro,
checked at every folded convolution's output (made graph outputs of a re-serialised copy of
the model, so a wrong border cannot hide behind the 2-class softmax) on random inputs.

Needs ``../shared/models/mcunet-vww1.tflite`` beside the repository (skipped otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL = REPO_ROOT.parent / "shared" / "models" / "mcunet-vww1.tflite"
TINYENGINE_LAYER_BY_LAYER = 93_992
"""TinyEngine's peak on this model, layer by layer (shared/models/README.md)."""

pytestmark = pytest.mark.skipif(not MODEL.is_file(), reason=f"{MODEL} not present")


def test_every_pad_folds_and_the_peak_drops() -> None:
    from export.planner.bands import plan_model
    from export.planner.verify import verify_plan
    from export.tflite_reader import read_tflite

    graph = read_tflite(MODEL)
    folded, plan, _ = plan_model(graph)
    verify_plan(folded, plan)
    assert sum(op.op == "PAD" for op in graph.operators) == 4
    assert not any(op.op == "PAD" for op in folded.operators)
    assert sum(n.startswith("PAD folded") for n in plan.notes) == 4
    _, unfolded, _ = plan_model(graph, fold_pad=False)  # 161,472 B at 5ee526f
    assert unfolded.arena_bytes > TINYENGINE_LAYER_BY_LAYER > plan.arena_bytes


def test_folded_convolutions_match_tflm(tmp_path: Path,
                                        repack: Callable[[bytes, Callable[[Any], None]], bytes]
                                        ) -> None:
    from export.backends import run_model_many
    from export.planner.fold_pad import fold_pads
    from export.tflite_reader import read_tflite

    graph = read_tflite(MODEL)
    _, done = fold_pads(graph)
    assert len(done) == 4
    convs = [graph.operators[f.conv_op].outputs[0] for f in done]

    def expose(model: Any) -> None:
        model.subgraphs[0].outputs = np.array([*convs, *graph.outputs], dtype=np.int32)

    path = tmp_path / "vww1_convs.tflite"
    path.write_bytes(repack(MODEL.read_bytes(), expose))
    q = graph.tensors[graph.operators[0].outputs[0]].quant  # the input's QUANTIZE
    assert q is not None
    lo, hi = q.scale[0] * (-128 - q.zero_point[0]), q.scale[0] * (127 - q.zero_point[0])
    rng = np.random.default_rng(1)
    samples = [[rng.uniform(lo, hi, (1, 80, 80, 3)).astype(np.float32)] for _ in range(3)]
    ours, ref = run_model_many(path, samples, "c"), run_model_many(path, samples, "tflm")
    for k, (o, r) in enumerate(zip(ours, ref, strict=True)):
        assert len(o) == len(convs) + 1
        for j, (a, b) in enumerate(zip(o, r, strict=True)):
            assert a.shape == b.shape and a.tobytes() == b.tobytes(), (
                f"sample {k} output {j}: {int(np.count_nonzero(a != b))} of {a.size} differ")
