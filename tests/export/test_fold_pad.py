"""PAD folded into the convolution that reads it (export/planner/fold_pad.py).

Hand-built graphs pin when the pass folds (VALID and SAME convolutions, per-side pads) and when
it must not (two readers, a pad value other than the zero point, quantization that changes, a
pad past the filter's span, pads on the channels); a Keras model with asymmetric ZeroPadding2D
in front of Conv2D / DepthwiseConv2D (strides 1 and 2, one SAME) is bit-exact with tflite-micro
after folding, under several plans (the planner's choice, in-place depthwise, no slides) and
with the portable kernels.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest

from export.ir import Graph, Operator, Quantization, Tensor
from export.planner.fold_pad import fold_pads
from export.planner.overlap import PADS_OPTION

Q = Quantization(scale=(0.05,), zero_point=(-3,))


def _const(index: int, arr: np.ndarray, quant: Quantization | None = None) -> Tensor:
    return Tensor(index, f"c{index}", arr.shape, str(arr.dtype), quant, arr.tobytes())


def _pad_graph(pads: tuple[int, int, int, int], *, conv: str = "DEPTHWISE_CONV_2D",
               padding: str = "VALID", stride: int = 1, readers: int = 1,
               value: int | None = None, out_quant: Quantization = Q,
               channel_pad: int = 0) -> Graph:
    """input [1, 6, 7, 4] -> PAD(V2) ``pads`` -> 3x3 ``conv`` (``readers`` of them)."""
    t, b, left, r = pads
    h, w, c = 6 + t + b, 7 + left + r, 4 + channel_pad
    span_out = (lambda n: -(-n // stride)) if padding == "SAME" else (lambda n: (n - 3) // stride + 1)
    oc = 4 + channel_pad if conv == "DEPTHWISE_CONV_2D" else 5
    wshape = (1, 3, 3, oc) if conv == "DEPTHWISE_CONV_2D" else (oc, 3, 3, 4 + channel_pad)
    tensors = [Tensor(0, "x", (1, 6, 7, 4), "int8", Q),
               _const(1, np.array([[0, 0], [t, b], [left, r], [0, channel_pad]], np.int32)),
               Tensor(2, "padded", (1, h, w, c), "int8", out_quant),
               _const(3, np.ones(wshape, np.int8), Quantization((0.1,) * oc, (0,) * oc, 3)),
               _const(4, np.zeros(oc, np.int32))]
    pad_in = (0, 1) if value is None else (0, 1, 5)
    if value is not None:
        tensors.append(_const(5, np.array([value], np.int8), Q))
    ops = [Operator(0, "PAD" if value is None else "PADV2", pad_in, (2,))]
    options = MappingProxyType({"padding": padding, "stride_h": stride, "stride_w": stride})
    for k in range(readers):
        n = len(tensors)
        tensors.append(Tensor(n, f"y{k}", (1, span_out(h), span_out(w), oc), "int8", Q))
        ops.append(Operator(k + 1, conv, (2, 3, 4), (n,), options))
    outs = tuple(op.outputs[0] for op in ops[1:])
    return Graph("pad", tuple(tensors), tuple(ops), (0,), outs)


@pytest.mark.parametrize(("conv", "stride"), [("DEPTHWISE_CONV_2D", 1), ("CONV_2D", 2)])
def test_valid_conv_takes_the_pads_per_side(conv: str, stride: int) -> None:
    graph = _pad_graph((1, 2, 0, 1), conv=conv, stride=stride)
    folded, done = fold_pads(graph)
    assert [op.op for op in folded.operators] == [conv]
    op = folded.operators[0]
    assert op.index == 0 and op.inputs[0] == 0 and op.options["padding"] == "VALID"
    assert op.options[PADS_OPTION] == (1, 2, 0, 1)
    assert len(done) == 1 and done[0].pads == (1, 2, 0, 1) and done[0].saved_bytes == 9 * 8 * 4
    assert "PAD folded: operator 0 PAD [1, 9, 8, 4]" in done[0].note()
    assert folded.tensors == graph.tensors  # tensor indices unchanged


def test_same_conv_adds_its_own_padding() -> None:
    # padded 7 x 8, 3x3 SAME stride 2: out 4 x 4, SAME pads (1, 1) rows and (0, 1) columns
    folded, done = fold_pads(_pad_graph((1, 0, 0, 1), conv="CONV_2D", padding="SAME", stride=2))
    assert len(done) == 1 and done[0].pads == (2, 1, 0, 2)
    assert folded.operators[0].options[PADS_OPTION] == (2, 1, 0, 2)


@pytest.mark.parametrize("graph", [
    _pad_graph((1, 1, 1, 1), readers=2),  # the padded copy has two readers
    _pad_graph((1, 1, 1, 1), value=7),  # PADV2 with a value that is not the zero point
    _pad_graph((1, 1, 1, 1), out_quant=Quantization((0.05,), (0,))),  # zero point changes
    _pad_graph((3, 0, 0, 0)),  # a pad past the 3x3 filter's span: a window with no tap inside
    _pad_graph((1, 1, 1, 1), channel_pad=2),  # channels padded
], ids=["two_readers", "value_not_zero_point", "quantization_changes", "past_span", "channels"])
def test_not_folded(graph: Graph) -> None:
    folded, done = fold_pads(graph)
    assert done == () and folded is graph


def test_padv2_with_the_zero_point_folds() -> None:
    _, done = fold_pads(_pad_graph((0, 1, 1, 0), value=-3))
    assert len(done) == 1


# ---- bit-exact against tflite-micro: Keras ZeroPadding2D -> Conv2D / DepthwiseConv2D ----

def _keras_model() -> bytes:
    import keras
    from keras import layers

    from export.zoo import convert_int8

    keras.utils.set_random_seed(16)
    inp = keras.Input((9, 11, 8), batch_size=1, name="x")
    x = layers.Conv2D(8, 1, activation="relu")(inp)  # one reader each: in place / slides
    outs = [
        layers.DepthwiseConv2D(3, activation="relu6")(layers.ZeroPadding2D(((1, 2), (0, 1)))(inp)),
        layers.Conv2D(6, 3, strides=2)(layers.ZeroPadding2D(((2, 0), (1, 2)))(inp)),
        layers.Conv2D(5, 3)(layers.ZeroPadding2D(((0, 1), (2, 1)))(inp)),
        layers.Conv2D(4, 3, strides=2, padding="same")(layers.ZeroPadding2D(((1, 0), (0, 1)))(inp)),
        layers.Conv2D(4, 1)(  # (a graph output never runs in place)
            layers.DepthwiseConv2D(3, strides=2)(layers.ZeroPadding2D(((1, 2), (2, 1)))(x))),
    ]
    model = keras.Model(inp, outs)

    def data():  # type: ignore[no-untyped-def]
        rng = np.random.default_rng(0)
        for _ in range(16):
            yield {"x": rng.uniform(-1, 1, (1, 9, 11, 8)).astype(np.float32)}

    return convert_int8(model, data)


@pytest.fixture(scope="module")
def keras_pads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fold") / "pads.tflite"
    path.write_bytes(_keras_model())
    return path


def test_keras_zero_padding_folds_bit_exact_vs_tflm(keras_pads: Path) -> None:
    from export.backends import run_model_many
    from export.codegen import emit_c
    from export.host_runner import HostModel, compile_sources, tensor_specs
    from export.planner.bands import plan_model
    from export.planner.memory import plan_memory
    from export.planner.verify import verify_plan
    from export.tflite_reader import read_tflite

    graph = read_tflite(keras_pads)
    assert sum(op.op == "PAD" for op in graph.operators) == 5
    folded, done = fold_pads(graph)
    assert len(done) == 5 and not any(op.op == "PAD" for op in folded.operators)
    assert {f.pads for f in done} >= {(1, 2, 0, 1), (2, 0, 1, 2), (0, 1, 2, 1)}
    rng = np.random.default_rng(5)
    samples = [[rng.integers(-128, 128, (1, 9, 11, 8), dtype=np.int8)] for _ in range(20)]
    ref = run_model_many(keras_pads, samples, "tflm")
    g0, auto, _ = plan_model(graph, bands="off")
    assert g0 == folded and sum("PAD folded" in n for n in auto.notes) == 5
    plans = [(auto, ()), (plan_memory(folded, inplace_depthwise=True, slides=False), ()),
             (plan_memory(folded, inplace_depthwise=False), ("-DFE_KERNELS_PORTABLE",))]
    dw = next(op for op in folded.operators  # the folded depthwise that may run in place
              if op.op == "DEPTHWISE_CONV_2D" and op.inputs[0] not in folded.inputs)
    assert plans[1][0].aliases.get(dw.outputs[0]) == dw.inputs[0]
    for plan, flags in plans:
        verify_plan(folded, plan)
        exe = compile_sources(emit_c(folded, plan), prefix="model", extra_flags=flags)
        host = HostModel(exe, tensor_specs(folded, folded.inputs),
                         tensor_specs(folded, folded.outputs))
        for k, (ours, theirs) in enumerate(zip(host.run(samples), ref, strict=True)):
            for j, (a, b) in enumerate(zip(ours, theirs, strict=True)):
                assert a.tobytes() == b.tobytes(), (flags, k, j, int(np.count_nonzero(a != b)))


def test_banded_folded_graph_bit_exact_vs_tflm(keras_pads: Path) -> None:
    """Band streaming over folded convolutions: a band's ``fe_pad_h`` replaces the top pad,
    ``fe_pads`` still gives the left one (mcunetv2-large plans this way)."""
    from export.backends import run_model_many
    from export.host_runner import build_host
    from export.planner.bands import band_graph, segment_ends
    from export.planner.memory import plan_memory
    from export.planner.verify import verify_plan
    from export.tflite_reader import read_tflite

    folded, _ = fold_pads(read_tflite(keras_pads))
    cuts = segment_ends(folded)
    assert cuts
    rng = np.random.default_rng(6)
    samples = [[rng.integers(-128, 128, (1, 9, 11, 8), dtype=np.int8)] for _ in range(6)]
    ref = run_model_many(keras_pads, samples, "tflm")
    for cut in cuts:
        for bands in (2, 3):
            banded, _ = band_graph(folded, cut, bands)
            assert any("fe_pad_h" in op.options and PADS_OPTION in op.options
                       for op in banded.operators)
            plan = plan_memory(banded, strategy="model")
            verify_plan(banded, plan)
            for k, (o, r) in enumerate(zip(build_host(banded, plan).run(samples), ref, strict=True)):
                for a, b in zip(o, r, strict=True):
                    assert a.tobytes() == b.tobytes(), (cut, bands, k)
