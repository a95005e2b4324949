"""The .tflite reader: real converter output in, the IR out; clear errors on what we reject."""

from __future__ import annotations

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as fb

from export.tflite_reader import ReaderError, read_tflite


def test_cnn_ops_options_and_per_channel_weights(zoo) -> None:
    g = read_tflite(zoo["cnn"])
    ops = [o.op for o in g.operators]
    assert ops[:2] == ["CONV_2D", "DEPTHWISE_CONV_2D"]
    assert {"MAX_POOL_2D", "AVERAGE_POOL_2D", "FULLY_CONNECTED"} <= set(ops)
    conv = g.operators[0]
    assert conv.options["padding"] == "SAME"
    assert (conv.options["stride_w"], conv.options["stride_h"]) == (2, 2)
    assert conv.options["fused_activation_function"] == "RELU"
    assert g.operators[1].options["fused_activation_function"] == "RELU6"
    w = g.tensors[conv.inputs[1]]
    assert w.is_constant and w.dtype == "int8" and w.quant is not None
    assert w.quant.per_channel and len(w.quant.scale) == w.shape[0] == 8
    assert w.numpy().shape == w.shape
    bias = g.tensors[conv.inputs[2]]
    assert bias.dtype == "int32" and bias.numpy().shape == (8,)
    (inp,) = g.inputs
    assert g.tensors[inp].shape == (1, 24, 24, 3) and g.tensors[inp].dtype == "int8"
    assert not g.tensors[inp].is_constant


def test_attention_lowering_and_batch_matmul_options(zoo) -> None:
    g = read_tflite(zoo["attention"])
    ops = {o.op for o in g.operators}
    assert {"BATCH_MATMUL", "SOFTMAX", "MEAN", "RSQRT", "SQUARED_DIFFERENCE", "TRANSPOSE"} <= ops
    bmm = next(o for o in g.operators if o.op == "BATCH_MATMUL")
    assert set(bmm.options) >= {"adj_x", "adj_y"}
    assert isinstance(bmm.options["adj_x"], bool)
    reshape = next(o for o in g.operators if o.op == "RESHAPE")
    assert g.tensors[reshape.outputs[0]].num_elements == g.tensors[reshape.inputs[0]].num_elements


def test_kv_step_inputs_keep_int32_and_producers_consistent(zoo) -> None:
    g = read_tflite(zoo["kv_decoder_step"])
    dtypes = sorted(g.tensors[i].dtype for i in g.inputs)
    assert dtypes.count("int32") == 2 and len(g.inputs) == 8
    assert any(o.op == "GATHER" for o in g.operators)
    prod = g.producers()
    for op in g.operators:  # the model's order is topological
        for t in op.inputs:
            if t >= 0 and t in prod:
                assert prod[t] < op.index


def test_bytes_and_path_give_the_same_graph(zoo) -> None:
    a, b = read_tflite(zoo["mlp"]), read_tflite(zoo["mlp"].read_bytes())
    assert [o.op for o in a.operators] == [o.op for o in b.operators]
    assert all(np.array_equal(x.numpy(), y.numpy()) for x, y in zip(a.tensors, b.tensors, strict=True)
               if x.is_constant)


def test_not_a_tflite(tmp_path) -> None:
    p = tmp_path / "x.tflite"
    p.write_bytes(b"hello world, not a flatbuffer")
    with pytest.raises(ReaderError, match="expected identifier b'TFL3'"):
        read_tflite(p)
    with pytest.raises(ReaderError, match="cannot read"):
        read_tflite(tmp_path / "missing.tflite")


def test_unsupported_op_names_index_op_and_tensor(zoo, repack) -> None:
    def edit(m) -> None:
        m.operatorCodes[m.subgraphs[0].operators[3].opcodeIndex].builtinCode = fb.BuiltinOperator.CUMSUM
        m.operatorCodes[m.subgraphs[0].operators[3].opcodeIndex].deprecatedBuiltinCode = 127

    buf = repack(zoo["mlp"].read_bytes(), edit)
    with pytest.raises(ReaderError, match=r"operator 3 CUMSUM \(output tensor \d+ '.*'\): unsupported"):
        read_tflite(buf)


def test_unsupported_dtype_and_activation(zoo, repack) -> None:
    def dtype(m) -> None:
        m.subgraphs[0].tensors[m.subgraphs[0].inputs[0]].type = fb.TensorType.COMPLEX64

    with pytest.raises(ReaderError, match=r"tensor \d+ '.*': unsupported dtype COMPLEX64"):
        read_tflite(repack(zoo["mlp"].read_bytes(), dtype))

    def act(m) -> None:
        m.subgraphs[0].operators[0].builtinOptions.fusedActivationFunction = (
            fb.ActivationFunctionType.SIGN_BIT)

    with pytest.raises(ReaderError, match="operator 0 FULLY_CONNECTED: unsupported fused_activation_function SIGN_BIT"):
        read_tflite(repack(zoo["mlp"].read_bytes(), act))
