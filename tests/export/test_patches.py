"""2-D patch-based inference (export/planner/patches.py).

A hand-built depthwise -> stride-2 convolution pins the tile geometry (each tensor's region per
tile, the per-side pads, the recomputed MACs) against values worked out by hand; a small Keras
CNN (ZeroPadding2D folded into a stride-2 Conv2D, depthwise, pointwise, a residual ADD that
reads a sub-region of a tile, SAME stride-2 depthwise, odd sizes so tiles are uneven) is
bit-exact with tflite-micro cut at every closed tensor in 2x2 and 3x3 tiles, on the host kernels
and -DFE_KERNELS_PORTABLE.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest

from export.ir import Graph, Operator, Quantization, Tensor
from export.planner.overlap import PADS_OPTION
from export.planner.patches import patch_graph, patch_regions

Q = Quantization(scale=(0.05,), zero_point=(-3,))


def _const(index: int, arr: np.ndarray, quant: Quantization | None = None) -> Tensor:
    return Tensor(index, f"c{index}", arr.shape, str(arr.dtype), quant, arr.tobytes())


def _two_layer() -> Graph:
    """x [1, 8, 8, 2] -> depthwise 3x3 SAME -> a [1, 8, 8, 2] -> conv 3x3 stride 2 SAME (3
    channels) -> c [1, 4, 4, 3]."""
    wq = Quantization((0.1,) * 3, (0,) * 3, 3)
    tensors = [Tensor(0, "x", (1, 8, 8, 2), "int8", Q),
               _const(1, np.ones((1, 3, 3, 2), np.int8), Quantization((0.1,) * 2, (0,) * 2, 3)),
               _const(2, np.zeros(2, np.int32)), Tensor(3, "a", (1, 8, 8, 2), "int8", Q),
               _const(4, np.ones((3, 3, 3, 2), np.int8), wq), _const(5, np.zeros(3, np.int32)),
               Tensor(6, "c", (1, 4, 4, 3), "int8", Q)]
    same = {"padding": "SAME", "stride_h": 1, "stride_w": 1}
    ops = (Operator(0, "DEPTHWISE_CONV_2D", (0, 1, 2), (3,), MappingProxyType(same)),
           Operator(1, "CONV_2D", (3, 4, 5), (6,),
                    MappingProxyType({**same, "stride_h": 2, "stride_w": 2})))
    return Graph("two", tuple(tensors), ops, (0,), (6,))


def test_tile_geometry_by_hand() -> None:
    graph = _two_layer()
    rules_seg = patch_graph(graph, 6, 2)[1].segment
    assert rules_seg == (0, 1)
    from export.planner.patches import _rule  # the rules the rewrite used

    rules = {k: _rule(graph, graph.operators[k]) for k in (0, 1)}
    # tile 0 of c: rows/cols [0, 2): SAME stride 2 on 8 pads 0 before, 1 after -> a [0, 5);
    # depthwise pads 1 before -> x [0, 6)
    assert patch_regions(graph, (0, 1), rules, 6, (0, 2, 0, 2)) == {
        6: (0, 2, 0, 2), 3: (0, 5, 0, 5), 0: (0, 6, 0, 6)}
    # tile 3: [2, 4): a [4, 8) (the 9th row is padding), x [3, 8)
    assert patch_regions(graph, (0, 1), rules, 6, (2, 4, 2, 4)) == {
        6: (2, 4, 2, 4), 3: (4, 8, 4, 8), 0: (3, 8, 3, 8)}
    patched, info = patch_graph(graph, 6, 2)
    pads = [(op.op, op.options[PADS_OPTION]) for op in patched.operators if PADS_OPTION in op.options]
    assert pads == [  # (top, bottom, left, right) per tile, raster order
        ("DEPTHWISE_CONV_2D", (1, 0, 1, 0)), ("CONV_2D", (0, 0, 0, 0)),
        ("DEPTHWISE_CONV_2D", (1, 0, 0, 1)), ("CONV_2D", (0, 0, 0, 1)),
        ("DEPTHWISE_CONV_2D", (0, 1, 1, 0)), ("CONV_2D", (0, 1, 0, 0)),
        ("DEPTHWISE_CONV_2D", (0, 1, 0, 1)), ("CONV_2D", (0, 1, 0, 1))]
    # depthwise pixels per tile 25 + 20 + 20 + 16 = 81 of 64 (x 2 channels x 9 taps), the
    # convolution's 16 pixels once (x 3 x 18)
    assert (info.macs_original, info.macs_computed) == (64 * 18 + 16 * 54, 81 * 18 + 16 * 54)
    assert info.recompute == pytest.approx(2322 / 2016 - 1)
    assert info.grid == (2, 2) and info.bands == 4
    stores = [op.op for op in patched.operators if op.op in ("PAD", "DYNAMIC_UPDATE_SLICE")]
    assert stores == ["PAD"] + ["DYNAMIC_UPDATE_SLICE"] * 3
    assert patched.operators[-1].outputs == (6,)
    slices = [op for op in patched.operators if op.op == "STRIDED_SLICE"]
    assert len(slices) == 4 and all(op.options.get("fe_copy") for op in slices)  # x's tiles


def test_tiles_store_in_place_and_plan_below_the_whole() -> None:
    from export.planner.memory import plan_memory
    from export.planner.verify import verify_plan

    graph = _two_layer()
    patched, _ = patch_graph(graph, 6, 2)
    plan = plan_memory(patched, strategy="model")
    verify_plan(patched, plan)
    dus = [op for op in patched.operators if op.op == "DYNAMIC_UPDATE_SLICE"]
    assert all(plan.aliases.get(op.outputs[0]) == op.inputs[0] for op in dus[:-1])
    with pytest.raises(ValueError, match="tiles of a 4x4 tensor"):
        patch_graph(graph, 6, 5)


def _keras_model() -> bytes:
    import keras
    from keras import layers

    from export.zoo import convert_int8

    keras.utils.set_random_seed(17)
    inp = keras.Input((19, 23, 3), batch_size=1, name="x")
    y = layers.Conv2D(8, 3, strides=2, activation="relu")(layers.ZeroPadding2D(((1, 0), (0, 1)))(inp))
    z = layers.DepthwiseConv2D(3, padding="same", activation="relu6")(y)
    z = layers.Conv2D(8, 1)(z)
    y = layers.Add()([y, z])
    y = layers.DepthwiseConv2D(5, strides=2, padding="same", activation="relu")(y)
    y = layers.Conv2D(6, 1)(y)
    model = keras.Model(inp, y)

    def data():  # type: ignore[no-untyped-def]
        rng = np.random.default_rng(0)
        for _ in range(16):
            yield {"x": rng.uniform(-1, 1, (1, 19, 23, 3)).astype(np.float32)}

    return convert_int8(model, data)


@pytest.fixture(scope="module")
def keras_cnn(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("patches") / "cnn.tflite"
    path.write_bytes(_keras_model())
    return path


def test_keras_cnn_patches_bit_exact_vs_tflm(keras_cnn: Path) -> None:
    from export.backends import run_model_many
    from export.codegen import emit_c
    from export.host_runner import HostModel, compile_sources, tensor_specs
    from export.planner.fold_pad import fold_pads
    from export.planner.memory import plan_memory
    from export.planner.patches import patch_cuts
    from export.planner.verify import verify_plan
    from export.tflite_reader import read_tflite

    folded, done = fold_pads(read_tflite(keras_cnn))
    assert len(done) == 1
    cuts = patch_cuts(folded)
    assert folded.outputs[0] in cuts and len(cuts) >= 3
    rng = np.random.default_rng(7)
    inp = folded.tensors[folded.inputs[0]]
    samples = [[rng.integers(-128, 128, inp.shape, dtype=np.int8)] for _ in range(4)]
    if inp.dtype == "float32":  # (the converter keeps int8 I/O; a float input quantizes first)
        samples = [[s[0].astype(np.float32) / 64] for s in samples]
    ref = run_model_many(keras_cnn, samples, "tflm")
    runs = [(cut, n, ()) for cut in cuts for n in (2, 3)
            if min(folded.tensors[cut].shape[1:3]) >= n]
    runs.append((folded.outputs[0], 3, ("-DFE_KERNELS_PORTABLE",)))
    copies = 0
    for cut, n, flags in runs:
        patched, info = patch_graph(folded, cut, n)
        copies += sum(bool(op.options.get("fe_copy")) for op in patched.operators
                      if op.op == "STRIDED_SLICE" and op.inputs[0] not in folded.inputs)
        plan = plan_memory(patched, strategy="model")
        verify_plan(patched, plan)
        exe = compile_sources(emit_c(patched, plan), prefix="model", extra_flags=flags)
        host = HostModel(exe, tensor_specs(patched, patched.inputs),
                         tensor_specs(patched, patched.outputs))
        for k, (o, r) in enumerate(zip(host.run(samples), ref, strict=True)):
            for a, b in zip(o, r, strict=True):
                assert a.tobytes() == b.tobytes(), (cut, n, flags, k,
                                                    int(np.count_nonzero(a != b)))
        assert info.recompute >= 0
    assert copies > 0  # the residual ADD read a sub-region of a tile through a copy
