"""The streaming encoder as a ``.tflite`` TFLite Micro runs hop by hop, state carried by the caller.

:func:`export.planner.stream.stream_graph` rewrites the encoder so a hop of h new frames
computes only its new rows; the rows later hops need live in rings whose states are variables
that our generated C keeps in its persistent area and shifts between hops
(:mod:`export.codegen.stream`). TFLite Micro gets the same graph with the state explicit:

- each ring's state becomes a graph input (after the frames, in ring order);
- a STRIDED_SLICE of each ring's block takes its last ``keep`` rows, the state of the next hop,
  as a graph output (after the encoder's own outputs, in the same order);
- the caller copies state output k to state input k + 1 between hops (the generated C's
  ``memmove``), and starts from every state at its zero point (``{prefix}_stream_reset()``).

Why explicit inputs/outputs rather than TFLM resource variables (VAR_HANDLE / READ_VARIABLE /
ASSIGN_VARIABLE): they need an init subgraph (CALL_ONCE) to start the states at their zero
points, a resource-variable count at interpreter creation and, on a board, the resolver
entries; plain inputs and outputs run on every TFLM build with the operators the encoder already
has (STRIDED_SLICE, CONCATENATION), and the copy is a few hundred bytes a hop.

After ``ceil(W / h)`` hops from the zero states the encoder's outputs equal the windowed
encoder's on the window ending at that hop, bit for bit (the planner's exactness argument; the
tests check it under tflite-micro and against the streamed generated C).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from export.codegen.cformat import environment
from export.ir import Graph, Operator
from export.planner.stream import Streaming, stream_graph
from export.tflite_reader import read_tflite
from export.tflite_writer import write_tflite
from export.tflm import TflmError
from export.tflm.bundle import identifier, render
from export.tflm.runtime import TflmSources, tflm_model_sources


@dataclass(frozen=True)
class StreamModel:
    """A streaming encoder for TFLite Micro: inputs [frames, state 0, ...], outputs [the
    encoder's outputs, next state 0, ...]."""

    flatbuffer: bytes  # the .tflite
    streaming: Streaming  # what a hop computes and keeps (rings in state order)
    outputs: int  # the encoder's own outputs, first; the next states follow
    initial_states: tuple[np.ndarray, ...]  # each state at its zero point (the reset)

    @property
    def states(self) -> int:
        """State inputs (= state outputs): one per ring."""
        return len(self.initial_states)


def explicit_state(graph: Graph, streaming: Streaming) -> Graph:
    """The stream graph with its rings' states as inputs and next states as outputs."""
    tensors = list(graph.tensors)
    ops = list(graph.operators)
    nexts = []
    for r in streaming.rings:
        state = tensors[r.state]
        tensors[r.state] = dataclasses.replace(state, is_variable=False)
        block = tensors[r.block]
        rank = len(block.shape)
        begin, end = [0] * rank, list(block.shape)
        begin[1] = r.fresh
        consts = []
        for name, values in (("begin", begin), ("end", end), ("strides", [1] * rank)):
            arr = np.asarray(values, dtype=np.int32)
            consts.append(len(tensors))
            tensors.append(dataclasses.replace(
                state, index=len(tensors), name=f"{state.name}_next/{name}", shape=(rank,),
                dtype="int32", quant=None, data=arr.tobytes(), is_variable=False))
        nxt = len(tensors)
        tensors.append(dataclasses.replace(state, index=nxt, name=f"{state.name}_next",
                                           is_variable=False))
        ops.append(Operator(index=len(ops), op="STRIDED_SLICE", inputs=(r.block, *consts),
                            outputs=(nxt,), options={"begin_mask": 0, "end_mask": 0,
                                                     "ellipsis_mask": 0, "new_axis_mask": 0,
                                                     "shrink_axis_mask": 0, "offset": False}))
        nexts.append(nxt)
    states = tuple(r.state for r in streaming.rings)
    return dataclasses.replace(graph, tensors=tuple(tensors), operators=tuple(ops),
                               inputs=(*graph.inputs, *states),
                               outputs=(*graph.outputs, *nexts))


def stream_tflite(encoder: bytes, hop: int, *, cut: int | None = None) -> StreamModel:
    """``encoder`` (a windowed int8 .tflite) streamed in hops of ``hop`` frames, for TFLite
    Micro (see the module docstring); :class:`export.planner.PlanError` where it cannot
    stream (a hop off the strides, padded windows)."""
    graph = read_tflite(encoder)
    if len(graph.inputs) != 1:
        raise TflmError(f"{graph.name}: {len(graph.inputs)} inputs: expected the frames alone")
    g2, info = stream_graph(graph, hop, cut=cut)
    flat = write_tflite(explicit_state(g2, info), like=encoder)
    init = []
    for r in info.rings:
        t = g2.tensors[r.state]
        zp = t.quant.zero_point[0] if t.quant is not None else 0
        init.append(np.full(t.shape, zp, dtype=np.dtype(t.dtype)))
    return StreamModel(flatbuffer=flat, streaming=info, outputs=len(graph.outputs),
                       initial_states=tuple(init))


def tflm_stream_sources(encoder: bytes, hop: int, *, prefix: str = "encoder",
                        cut: int | None = None) -> tuple[TflmSources, StreamModel]:
    """TFLite Micro sources of ``encoder`` streamed in hops of ``hop`` frames, with the API of
    the generated C's stream (``{prefix}_stream.h``: ``{prefix}_stream_reset()`` /
    ``{prefix}_stream_invoke()``), so the firmware glue drives either runtime the same way.

    The states are persistent inputs (:func:`export.tflm.runtime.tflm_model_sources`: past the
    planned arena); ``{prefix}_stream.cc`` copies each next-state output onto its state input
    after an invoke. Also returns the :class:`StreamModel` (its flatbuffer is the one compiled in
    before the offline plan is written into it)."""
    model = stream_tflite(encoder, hop, cut=cut)
    graph = read_tflite(model.flatbuffer, compiler_ops=False)
    state_inputs = graph.inputs[1:]
    src = tflm_model_sources(model.flatbuffer, prefix=prefix, persistent=tuple(state_inputs))
    p = identifier(prefix)
    order = sorted(state_inputs)  # the runtime numbers states by tensor index
    carries = [{"state": order.index(t), "output": model.outputs + j,
                "comment": f"{graph.tensors[t].name} <- output {model.outputs + j}"}
               for j, t in enumerate(state_inputs)]
    info = model.streaming
    files = dict(src.files)
    files[f"{p}_stream.h"] = environment().get_template("stream.h.j2").render(
        p=p, P=p.upper(), source=f"{graph.name} (TFLite Micro)", header=f"{p}.h", hop=info.hop,
        window=info.window, warmup=info.warmup_hops, state_bytes=info.state_bytes,
        rings=carries)
    files[f"{p}_stream.cc"] = render("tflm_stream.cc.j2", p=p, P=p.upper(), source=graph.name,
                                     carries=carries)
    return dataclasses.replace(src, files=files), model


def run_stream_tflm(model: StreamModel, hops: Sequence[np.ndarray], *,
                    arena_bytes: int = 1 << 20, carry: bool = True) -> list[list[np.ndarray]]:
    """The encoder's outputs of each hop (``hops``: [1, h, ...] frames each) under the
    ``tflite-micro`` wheel, the states carried from hop to hop (``carry=False``: every hop
    from the zero states, which only a test that the state matters wants)."""
    from tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model.flatbuffer, arena_size=arena_bytes)
    states = list(model.initial_states)
    results = []
    for frames in hops:
        interp.set_input(np.asarray(frames), 0)
        for k, s in enumerate(states if carry else model.initial_states):
            interp.set_input(s, 1 + k)
        interp.invoke()
        outs = [np.array(interp.get_output(i)) for i in range(model.outputs + model.states)]
        results.append(outs[:model.outputs])
        states = outs[model.outputs:]
    return results
