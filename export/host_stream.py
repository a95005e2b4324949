"""Run a stream graph's generated C on the host, one stream of hops per process.

``build_stream_host(graph, plan, streaming, *, prefix) -> HostModel`` compiles
:func:`export.codegen.stream.emit_stream_c`'s sources with the streaming harness
(``host_stream_main.c.j2``: ``{prefix}_stream_reset()`` once, then ``{prefix}_stream_invoke()``
per hop); ``model.run(hops)`` pipes the hops (each: the graph inputs, the new frames first)
through one process, so the state carries from hop to hop, and returns each hop's outputs.

:class:`StreamedEncoder` is the encoder as the firmware streams it (``edge/firmware/
model_generated.c``): the graph streamed over its longest row-wise segment at the model's hop,
primed from a stream's first frame (:func:`prime_hops` hops of it repeated: the frames before
the first repeat it, as the host's windows do), then one hop of new frames per invoke. From the
first hop its outputs equal the windowed encoder's on the window ending there, byte for byte.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from export.codegen.stream import emit_stream_c
from export.host_runner import HostModel, compile_sources, tensor_specs
from export.int8.errors import ExportError
from export.ir import Graph
from export.planner.plan import MemoryPlan
from export.planner.stream import Streaming


def build_stream_host(graph: Graph, plan: MemoryPlan, streaming: Streaming, *,
                      prefix: str = "model") -> HostModel:
    """Generate, compile (or reuse) and describe the streaming host binary of ``graph``."""
    files = emit_stream_c(graph, plan, streaming, prefix=prefix)
    exe = compile_sources(files, prefix=prefix, harness_template="host_stream_main.c.j2")
    return HostModel(exe=exe, inputs=tensor_specs(graph, graph.inputs),
                     outputs=tensor_specs(graph, graph.outputs))


def prime_hops(streaming: Streaming) -> int:
    """Hops of a stream's first frame run before its first real hop: the warm-up but one, so
    the first real hop completes it (what the firmware's ``FE_MC_PRIME_HOPS`` is)."""
    return streaming.warmup_hops - 1


def stream_inputs(frames: np.ndarray, hop: int, n_hops: int, primes: int) -> list[np.ndarray]:
    """The encoder input of every invoke of one stream over int8 ``frames [T,65,3]``:
    ``primes`` hops of frame 0 repeated, then hops ``0 .. n_hops - 1`` of ``hop`` new frames."""
    if frames.shape[0] < hop * n_hops:
        raise ExportError(f"stream of {n_hops} hops of {hop} frames: expected at least "
                         f"{hop * n_hops} frames, found {frames.shape[0]}")
    first = np.repeat(frames[:1], hop, axis=0)[None]
    return [first] * primes + [frames[k * hop:(k + 1) * hop][None] for k in range(n_hops)]


class StreamedEncoder:
    """The encoder streamed as on the board, on the host (module doc); outputs by name."""

    def __init__(self, flat: bytes, hop: int) -> None:
        from export.int8.flat import model_io
        from export.planner.stream import longest_cut, plan_stream
        from export.tflite_reader import read_tflite

        graph = read_tflite(flat)
        g2, plan, self.streaming = plan_stream(graph, hop, cut=longest_cut(graph))
        self.io = model_io(flat, "c-stream")  # signature names; inputs["keypoints"] is W frames
        self.hop = hop  # frames per hop
        self._model = build_stream_host(g2, plan, self.streaming, prefix="encoder")

    def encode_stream(self, frames: np.ndarray, n_hops: int) -> list[dict[str, np.ndarray]]:
        """Outputs of hops ``0 .. n_hops - 1`` of one stream (reset, primed) over int8
        ``frames [T,65,3]`` (already quantized), by signature name."""
        primes = prime_hops(self.streaming)
        runs = self._model.run([[x] for x in stream_inputs(frames, self.hop, n_hops, primes)])
        return [{n: outs[s.position] for n, s in self.io.outputs.items()}
                for outs in runs[primes:]]

    def encode_hops(self, quantized: Sequence[np.ndarray] | np.ndarray,
                    ends: Sequence[int]) -> list[dict[str, np.ndarray]]:
        """Outputs at the hops ending at ``ends`` (``H, 2H, ...``: one stream from frame 0)."""
        expected = [self.hop * (k + 1) for k in range(len(ends))]
        if list(ends) != expected:
            raise ExportError(f"a stream's hops end at {expected[:4]}...: found {list(ends)[:4]}")
        return self.encode_stream(np.asarray(quantized), len(ends))
