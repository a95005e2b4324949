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
    folded, plan, _ = plan_model(graph, patches="off")  # (a patch stores its first tile by a PAD)
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


TINYENGINE_PATCHES = 62_352
"""TinyEngine's peak on this model with 2x2 patches (MCUNetV2; shared/models/README.md)."""


def test_float_input_outside_the_arena_patched_below_tinyengine_and_exact() -> None:
    """The float32 input (76,800 B) stays in the caller's buffer (QUANTIZE reads it there) and
    the float32 output is written to the caller's buffer, so 2-D patches plan the whole model
    under TinyEngine's own 2x2-patch peak (which counts from the int8 input); its generated C
    equals tflite-micro on random inputs."""
    from export.backends import run_model_many
    from export.host_runner import build_host
    from export.planner.bands import plan_model
    from export.planner.patches import Patching
    from export.planner.verify import verify_plan
    from export.tflite_reader import read_tflite

    graph = read_tflite(MODEL)
    g2, plan, info = plan_model(graph)
    verify_plan(g2, plan)
    (inp,), (out,) = graph.inputs, graph.outputs
    assert plan.caller_tensors == tuple(sorted((inp, out)))
    assert inp not in plan.tensor_offsets and out not in plan.tensor_offsets
    assert "input 0 (float32, 76,800 B) read from the caller's buffer by QUANTIZE, not in the " \
           "arena" in plan.notes
    assert "output 0 (float32, 8 B) written to the caller's buffer by DEQUANTIZE, not in the " \
           "arena" in plan.notes
    assert isinstance(info, Patching) and any(n.startswith("patches: ") for n in plan.notes)
    assert plan.arena_bytes <= TINYENGINE_PATCHES and 0 < info.recompute < 0.5
    samples = [[s] for s in _float_inputs(graph, 4, 3)]
    ref = run_model_many(MODEL, samples, "tflm")
    for k, (o, r) in enumerate(zip(build_host(g2, plan).run(samples), ref, strict=True)):
        assert o[0].dtype == np.float32 and o[0].tobytes() == r[0].tobytes(), f"sample {k}"


def _float_inputs(graph: Any, seed: int, n: int) -> list[np.ndarray]:
    """``n`` random float32 inputs over the input QUANTIZE's int8 range."""
    q = graph.tensors[graph.operators[0].outputs[0]].quant
    assert q is not None
    lo, hi = q.scale[0] * (-128 - q.zero_point[0]), q.scale[0] * (127 - q.zero_point[0])
    rng = np.random.default_rng(seed)
    return [rng.uniform(lo, hi, (1, 80, 80, 3)).astype(np.float32) for _ in range(n)]


def test_patched_stage_matches_tflm(tmp_path: Path,
                                    repack: Callable[[bytes, Callable[[Any], None]], bytes]
                                    ) -> None:
    """The patched graph's C equals tflite-micro at the cut (made a graph output) and the
    model's output: 2x2 tiles up to the first stride-2 depthwise (TinyEngine's split) and 4x4
    up to the 20x20x16 projection, on random inputs, the float input read from the caller's
    buffer."""
    from export.backends import run_model_many
    from export.host_runner import build_host
    from export.planner.fold_pad import fold_pads
    from export.planner.memory import plan_memory
    from export.planner.patches import patch_graph
    from export.planner.verify import verify_plan
    from export.tflite_reader import read_tflite

    cuts = {2: 113, 4: 121}  # tensors [1, 20, 20, 48] and [1, 20, 20, 16]
    graph = read_tflite(MODEL)
    assert [graph.tensors[t].shape for t in cuts.values()] == [(1, 20, 20, 48), (1, 20, 20, 16)]
    samples = [[s] for s in _float_inputs(graph, 2, 3)]
    for n, cut in cuts.items():  # (one cut exposed at a time: an output inside a stage ends it)
        def expose(model: Any, cut: int = cut) -> None:
            model.subgraphs[0].outputs = np.array([cut, *graph.outputs], dtype=np.int32)

        path = tmp_path / f"vww1_cut{cut}.tflite"
        path.write_bytes(repack(MODEL.read_bytes(), expose))
        ref = run_model_many(path, samples, "tflm")
        folded, _ = fold_pads(read_tflite(path))
        patched, info = patch_graph(folded, cut, n)
        assert info.grid == (n, n) and info.recompute > 0
        plan = plan_memory(patched, strategy="model", caller_io=True)
        verify_plan(patched, plan)
        assert patched.inputs[0] in plan.caller_tensors
        for k, (o, r) in enumerate(zip(build_host(patched, plan).run(samples), ref, strict=True)):
            for j, (a, b) in enumerate(zip(o, r, strict=True)):
                assert a.shape == b.shape and a.tobytes() == b.tobytes(), (
                    f"{n}x{n} sample {k} output {j}: {int(np.count_nonzero(a != b))} differ")
