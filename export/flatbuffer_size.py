"""How much a .tflite would unpack into, counted before the schema's object API unpacks it.

A flatbuffer refers to tables, vectors and strings by offset, and nothing stops two offsets
from pointing at the same place: a 1 MB file whose subgraph vector repeats one subgraph 10**5
times, each with 10**5 tensor entries, unpacks into 10**10 objects (a "flatbuffer bomb"). A
file written by a converter refers to each item once, so what it unpacks into is at most about
its own size. :func:`unpacked_units` walks the file with the schema's lazy accessors (no
unpacking) and counts, per reference, each table entry of a vector, each element of a numeric
vector the reader turns into Python values and each byte of a string the object API copies,
stopping as soon as the count passes ``limit``: O(min(count, limit)) time, no allocation
beyond one string at a time.
"""

from __future__ import annotations

from typing import Any

from ai_edge_litert import schema_py_generated as fb


class _Counter:
    """A running count that stops the walk once it passes its limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit  # stop once the count passes this
        self.count = 0  # units counted so far

    def add(self, n: int) -> bool:
        """Count ``n`` more; True while still within the limit."""
        self.count += n
        return self.count <= self.limit


def _tensor(t: Any, c: _Counter) -> bool:
    q = t.Quantization()
    quant = 0 if q is None else q.ScaleLength() + q.ZeroPointLength() + q.MinLength() + q.MaxLength()
    sparse = t.Sparsity()
    name = t.Name()
    return c.add(1 + t.ShapeLength() + t.ShapeSignatureLength() + t.VariantTensorsLength()
                 + quant + (0 if sparse is None else sparse.DimMetadataLength())
                 + (len(name) if name is not None else 0))


def _operator(op: Any, c: _Counter) -> bool:
    return c.add(1 + op.InputsLength() + op.OutputsLength() + op.IntermediatesLength()
                 + op.MutatingVariableInputsLength() + op.CustomOptionsLength())


def _subgraph(sg: Any, c: _Counter) -> bool:
    if not c.add(1 + sg.InputsLength() + sg.OutputsLength()):
        return False
    for j in range(sg.TensorsLength()):
        if not _tensor(sg.Tensors(j), c):
            return False
    return all(_operator(sg.Operators(k), c) for k in range(sg.OperatorsLength()))


def unpacked_units(buf: bytes, limit: int) -> int:
    """Units (table entries, numeric vector elements, string bytes) the object API and the
    reader would make from ``buf``, counted up to just past ``limit``. Raises what the
    flatbuffers accessors raise on a corrupt file (``struct.error``, ``IndexError`` ...)."""
    m = fb.Model.GetRootAs(buf, 0)
    c = _Counter(limit)
    if not c.add(m.OperatorCodesLength() + m.BuffersLength() + m.MetadataLength()
                 + m.ExternalBuffersLength() + m.ExternalBufferGroupsLength()
                 + m.MetadataBufferLength()):
        return c.count
    for i in range(m.SignatureDefsLength()):
        s = m.SignatureDefs(i)
        if not c.add(1 + s.InputsLength() + s.OutputsLength()):
            return c.count
    for i in range(m.MetadataLength()):
        name = m.Metadata(i).Name()
        if not c.add(len(name) if name is not None else 0):
            return c.count
    for i in range(m.SubgraphsLength()):
        if not _subgraph(m.Subgraphs(i), c):
            break
    return c.count
