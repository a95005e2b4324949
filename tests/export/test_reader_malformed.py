"""Malformed models, one per kind of damage: each is a ReaderError that names what is wrong.

The zoo's mlp: tensor 0 input [1, 32]; 3 weights [64, 32] -> 4 [1, 64] (operator 0 FC);
2 weights [32, 64] -> 5 [1, 32] (operator 1 FC); 1 weights [10, 32] -> 6 [1, 10] (operator 2
FC); 7 [1, 10] (operator 3 SOFTMAX), the graph output.
"""

from __future__ import annotations

import math

import flatbuffers
import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as fb

from export.tflite_checks import MAX_TENSOR_BYTES
from export.tflite_reader import ReaderError, read_tflite


@pytest.fixture(scope="module")
def mlp(zoo) -> bytes:
    return zoo["mlp"].read_bytes()


def _refused(buf: bytes, pattern: str) -> None:
    with pytest.raises(ReaderError, match=pattern) as info:
        read_tflite(buf)
    assert str(info.value).startswith("<bytes>: ")
    with pytest.raises(ReaderError):  # the same file for TFLite Micro: still malformed
        read_tflite(buf, compiler_ops=False)


def test_corrupt_name_bytes_are_a_reader_error(mlp) -> None:
    """The issue's traceback: a byte flip inside a tensor name (UnicodeDecodeError before)."""
    buf = bytearray(mlp)
    at = buf.index(b"mlp_1/dense_1/MatMul;")
    buf[at] = 0xFF
    _refused(bytes(buf), r"tensor 4 name is not UTF-8 text \(invalid start byte at byte 0 of "
                         r"b'\\xfflp_1/dense_1/MatMul;")


def test_truncated_and_wrong_magic(mlp) -> None:
    _refused(mlp[:len(mlp) // 2], r"corrupt \.tflite flatbuffer \(\d+ bytes; an offset or length "
                                  r"points outside it")
    _refused(mlp[:4] + b"TFL2" + mlp[8:], r"expected identifier b'TFL3', found b'TFL2'")
    _refused(b"", r"expected identifier b'TFL3', found '0 bytes'")


@pytest.mark.parametrize(("shape", "pattern"), [
    ((10**6, 10**6), rf"shape \[1000000, 1000000\] needs 1000000000000 bytes, more than the "
                     rf"{MAX_TENSOR_BYTES} a tensor may have"),
    ((1, -5), r"shape \[1, -5\] has a negative dimension"),
    ((1,) * 40, r"has 40 dimensions \(at most 8 supported\)"),
])
def test_absurd_shapes(mlp, repack, shape, pattern) -> None:
    def edit(m) -> None:
        m.subgraphs[0].tensors[4].shape = list(shape)

    _refused(repack(mlp, edit), rf"tensor 4 'mlp_1/dense_1/MatMul;mlp_1/dense_1/Relu': {pattern}")


def test_offsets_and_indices_out_of_range(mlp, repack) -> None:
    def offset(m) -> None:
        b = m.buffers[m.subgraphs[0].tensors[3].buffer]
        b.data, b.offset, b.size = None, 1 << 20, 2048

    _refused(repack(mlp, offset), r"tensor 3 'mlp_1/dense_1/MatMul': buffer 4 holds 2048 bytes at "
                                  r"offset 1048576, past the end of the file \(\d+ bytes\)")

    def buffer_index(m) -> None:
        m.subgraphs[0].tensors[3].buffer = 99

    _refused(repack(mlp, buffer_index), r"tensor 3 .*: buffer index 99 is outside range 0 to 10")

    def opcode(m) -> None:
        m.subgraphs[0].operators[2].opcodeIndex = 7

    _refused(repack(mlp, opcode), r"operator 2: opcode index 7 is outside range 0 to 1")

    def tensor_index(m) -> None:
        m.subgraphs[0].operators[1].inputs = [4, 2, 8]

    _refused(repack(mlp, tensor_index), r"operator 1 FULLY_CONNECTED: tensor index 8 is outside "
                                        r"range 0 to 7")


def test_cycle_and_double_write(mlp, repack) -> None:
    def cycle(m) -> None:  # operator 0 reads the softmax output: 0 -> 1 -> 2 -> 3 -> 0
        m.subgraphs[0].operators[0].inputs = [7, 3, -1]

    _refused(repack(mlp, cycle), r"operator 0 FULLY_CONNECTED reads tensor 7 "
                                 r"'StatefulPartitionedCall_1:0' before it is written")

    def twice(m) -> None:
        m.subgraphs[0].operators[1].outputs = [4]

    _refused(repack(mlp, twice), r"operator 1 FULLY_CONNECTED writes tensor 4 '.*', already "
                                 r"written by operator 0")

    def constant(m) -> None:
        m.subgraphs[0].operators[3].outputs = [1]

    _refused(repack(mlp, constant), r"operator 3 SOFTMAX writes tensor 1 'mlp_1/dense_2_1/MatMul', "
                                    r"which is a constant")


@pytest.mark.parametrize(("edit", "pattern"), [
    (lambda q: setattr(q, "scale", [math.nan]), r"quantization scale nan is not a finite number > 0"),
    (lambda q: setattr(q, "scale", [0.0]), r"quantization scale 0.0 is not a finite number > 0"),
    (lambda q: setattr(q, "zeroPoint", [200]), r"zero point 200 is outside the int8 range -128 to 127"),
    (lambda q: setattr(q, "scale", [0.5, 0.5, 0.5]) or setattr(q, "zeroPoint", [0, 0, 0]),
     r"3 per-channel scales for dimension 0 of size 1"),
    (lambda q: setattr(q, "zeroPoint", [0, 0]), r"2 zero points for 1 scales"),
])
def test_bad_quantization(mlp, repack, edit, pattern) -> None:
    _refused(repack(mlp, lambda m: edit(m.subgraphs[0].tensors[5].quantization)),
             rf"tensor 5 '.*': {pattern}")


def test_options_and_operand_shapes(mlp, repack, zoo) -> None:
    def units(m) -> None:
        m.subgraphs[0].tensors[6].shape = [1, 7]
        m.subgraphs[0].tensors[7].shape = [1, 7]

    _refused(repack(mlp, units), r"operator 2 FULLY_CONNECTED: output tensor 6 \[1, 7\] should hold "
                                 r"1 rows of 10 units")

    def beta(m) -> None:
        m.subgraphs[0].operators[3].builtinOptions.beta = math.inf

    _refused(repack(mlp, beta), r"operator 3 SOFTMAX: option beta = inf is not a finite number")

    def zero_beta(m) -> None:  # tflite-micro aborts the process on this one
        m.subgraphs[0].operators[3].builtinOptions.beta = 0.0

    with pytest.raises(ReaderError, match=r"operator 3 SOFTMAX: beta 0.0 \* input scale [\d.e-]+ "
                                          r"\* 2\^26 = 0; quantized softmax needs more than 1"):
        read_tflite(repack(mlp, zero_beta))

    def empty(m) -> None:  # and segfaults on this one
        m.subgraphs[0].operators = []

    _refused(repack(mlp, empty), r"the graph has 0 operators and 1 outputs \(expected at least "
                                 r"one of each\)")

    def stride(m) -> None:
        m.subgraphs[0].operators[0].builtinOptions.strideW = 0

    _refused(repack(zoo["cnn"].read_bytes(), stride),
             r"operator 0 CONV_2D: option stride_w = 0 is outside range 1 to 65536")

    def window(m) -> None:
        m.subgraphs[0].operators[0].builtinOptions.strideH = 1

    _refused(repack(zoo["cnn"].read_bytes(), window),
             r"operator 0 CONV_2D: output tensor 11 \[1, 12, 12, 8\] should have shape "
             r"\[1, 24, 12, 8\] \(SAME window \(3, 3\), stride \(1, 2\)\)")


def _aliased_subgraphs(buf: bytes, copies: int) -> bytes:
    """``buf`` with its subgraph vector holding ``copies`` offsets of one subgraph table."""
    m = fb.ModelT.InitFromPackedBuf(buf, 0)
    b = flatbuffers.Builder(len(buf) + 4 * copies + 1024)
    sg = m.subgraphs[0].Pack(b)
    codes = [c.Pack(b) for c in m.operatorCodes]
    bufs = [x.Pack(b) for x in m.buffers]

    def vector(start, items: list[int]) -> int:
        start(b, len(items))
        for item in reversed(items):
            b.PrependUOffsetTRelative(item)
        return b.EndVector()

    sgs = vector(fb.ModelStartSubgraphsVector, [sg] * copies)
    codes_v = vector(fb.ModelStartOperatorCodesVector, codes)
    bufs_v = vector(fb.ModelStartBuffersVector, bufs)
    fb.ModelStart(b)
    fb.ModelAddVersion(b, 3)
    fb.ModelAddOperatorCodes(b, codes_v)
    fb.ModelAddSubgraphs(b, sgs)
    fb.ModelAddBuffers(b, bufs_v)
    b.Finish(fb.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_flatbuffer_bomb_is_refused_before_unpacking(mlp) -> None:
    few = _aliased_subgraphs(mlp, 2)  # shared offsets as such are legal
    assert [o.op for o in read_tflite(few).operators] == [o.op for o in read_tflite(mlp).operators]
    bomb = _aliased_subgraphs(mlp, 50_000)  # 200 KB that would unpack 400,000 tensors
    _refused(bomb, r"the flatbuffer's offsets refer to the same tables over and over: it would "
                   r"unpack into more than \d+ entries and bytes from \d+ bytes \(at most 2x")


def test_shared_buffers_are_read_once(mlp, repack) -> None:
    def share(m) -> None:  # tensors 2 and 3 ([32, 64] and [64, 32]) on one buffer
        m.subgraphs[0].tensors[2].buffer = m.subgraphs[0].tensors[3].buffer

    g = read_tflite(repack(mlp, share))
    assert g.tensors[2].data is g.tensors[3].data
    assert np.array_equal(g.tensors[2].numpy().reshape(-1), g.tensors[3].numpy().reshape(-1))
