"""Float model inputs and outputs kept in the caller's buffers, out of the arena.

An int8 model converted with float I/O starts with a QUANTIZE (float32 -> int8) of its input
and ends with a DEQUANTIZE (int8 -> float32) into its output. The float side is four times
the int8 one, and at the QUANTIZE both are live: for a vision CNN that step is the peak
(mcunet-vww1: 76,800 B of float input beside its 19,200 B int8 copy). TinyEngine and the
firmware that feeds a camera frame never hold that float tensor in the arena: the caller owns
it. So the generated C reads such an input from a pointer the caller passes
(``{prefix}_set_input``) and writes such an output through one (``{prefix}_set_output``);
the planner leaves them out (``MemoryPlan.caller_tensors``).

Rule (:func:`caller_tensors`): a float32 graph input that is not also an output, not a
variable, and whose every reader is a QUANTIZE to int8 (reading it whole, element by element,
so no view or alias of it exists); a float32 graph output that is not also an input, made by
a DEQUANTIZE from int8 and read by no operator. Anything else stays in the arena (the TFLite
Micro offline plan always keeps them there, since TFLite Micro places inputs in its arena).
"""

from __future__ import annotations

from export.ir import Graph


def caller_tensors(graph: Graph) -> tuple[int, ...]:
    """Graph inputs and outputs that the generated C keeps in the caller's buffers (see the
    module docstring), in tensor index order. O(#operators)."""
    consumers, producers = graph.consumers(), graph.producers()
    out: set[int] = set()
    for t in graph.inputs:
        x = graph.tensors[t]
        readers = [graph.operators[k] for k in consumers.get(t, ())]
        if (x.dtype == "float32" and not x.is_variable and not x.is_constant
                and t not in graph.outputs and readers
                and all(op.op == "QUANTIZE" and op.inputs[0] == t and t not in op.inputs[1:]
                        and graph.tensors[op.outputs[0]].dtype == "int8" for op in readers)):
            out.add(t)
    for t in graph.outputs:
        y = graph.tensors[t]
        op = graph.operators[producers[t]] if t in producers else None
        if (y.dtype == "float32" and not y.is_variable and t not in graph.inputs
                and op is not None and op.op == "DEQUANTIZE" and op.inputs
                and op.inputs[0] >= 0 and graph.tensors[op.inputs[0]].dtype == "int8"
                and not consumers.get(t)):
            out.add(t)
    return tuple(sorted(out))


def caller_note(graph: Graph, t: int) -> str:
    """One line for the plan's notes about caller tensor ``t``."""
    x = graph.tensors[t]
    if t in graph.inputs:
        return (f"input {graph.inputs.index(t)} ({x.dtype}, {x.nbytes:,} B) read from the "
                "caller's buffer by QUANTIZE, not in the arena")
    return (f"output {graph.outputs.index(t)} ({x.dtype}, {x.nbytes:,} B) written to the "
            "caller's buffer by DEQUANTIZE, not in the arena")
