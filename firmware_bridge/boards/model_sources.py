"""The model a firmware carries: an export folder turned into C sources for the generic glue.

``model_sources(export_dir, runtime=...)`` reads ``encoder.tflite``, ``decoder_step.tflite``
and ``config.json`` (what ``foley-edge export`` writes) and returns, as text (pure: writes
nothing):

* runtime ``"c"`` (default): ``encoder.c/.h`` and ``decoder_step.c/.h``: the planner
  (:func:`plan_memory`, checked by :func:`verify_plan`) and the code generator (:func:`emit_c`)
  run on each model, prefixes ``encoder_`` and ``decoder_step_``; the step's self-attention
  caches (``cache_*``) and cross K/V inputs (``cross_*``) are persistent, so the caches keep
  their rows between steps and the cross K/V are copied in once per hop;
* the STREAMED encoder (``stream=True``, the default) when the model's hop
  (``hop_frames``) is a multiple of every row stride of the encoder's longest row-wise segment
  (:func:`stream_choice`): :func:`export.planner.stream.plan_stream` + ``emit_stream_c`` write
  ``encoder.c/.h`` over the stream graph (input: the hop's H new frames) and
  ``encoder_stream.c/.h`` (``encoder_stream_reset`` / ``encoder_stream_invoke``); the rings'
  kept rows are the encoder's persistent area. The glue primes a stream with
  ``ceil(W / H) - 1`` hops of its first frame repeated, so from the first hop the streamed
  encoder's outputs equal the windowed encoder's on the host's windows (frames before the
  first repeat it, :func:`edge.train.windows.window_keypoints`) byte for byte, and the board
  answers what the windowed host reference (:mod:`export.host_decode`) answers. Any other hop
  (e.g. the shipped students' 22 over strides of 4) keeps the windowed encoder;
* runtime ``"tflm"``: the same API (``encoder.h``, ``decoder_step.h``) implemented over one
  TFLite Micro interpreter per model (:func:`export.tflm.runtime.tflm_model_sources`:
  ``*_tflm.cc``, the model arrays with our offline plan embedded, op resolvers), the same
  inputs persistent (placed past TFLM's planned arena); linked with TFLite Micro + CMSIS-NN.
  A streamed encoder runs there too, over the same segment: its rings' states are explicit
  inputs and outputs (:func:`export.tflm.stream.tflm_stream_sources`), and
  ``encoder_stream.cc`` copies each next state onto its input after an invoke;
* ``fe_model_config.h``: everything ``edge/firmware/model_generated.c`` needs to know about this
  pair, bound by signature name (:func:`export.int8.flat.model_io`) — input/output indices, the
  hand-over pairs (encoder ``cross_*`` output -> step ``cross_*`` input, step ``new_*`` output
  -> step ``cache_*`` input), the quantized mask values (the host loop's own
  ``IOTensor.quantize`` of 0 and ``mask_value``), fps, hop, window, max tokens and the model
  hash (CRC-32 of the three files) the firmware announces in HELLO.

Anything the glue cannot drive (a missing signature name, a float mask, logits that are not the
vocabulary) is a :class:`ModelSourceError` naming the file, the tensor, expected and found.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

from edge import vocab
from edge.model.clock import cap_us, fps_milli
from edge.protocol_spec import InputFrame
from firmware_bridge.errors import BoardError

EXPORT_FILES = ("encoder.tflite", "decoder_step.tflite", "config.json")
"""The files of an export folder, in the order the model hash covers them."""
PREFIXES = ("encoder", "decoder_step")
"""C prefixes of the two generated models."""
RUNTIMES = ("c", "tflm")
"""What runs the models on the board: our generated C, or TFLite Micro + CMSIS-NN."""
STEP_PERSISTENT = ("cache", "cross")
"""Step inputs kept in the persistent area (substrings of their names)."""


class ModelSourceError(BoardError):
    """An export folder the firmware glue cannot be generated for."""


@dataclass(frozen=True)
class ModelSources:
    """Generated C for one export folder."""

    export_dir: Path  # the export folder read
    model_hash: int  # CRC-32 of encoder.tflite + decoder_step.tflite + config.json
    files: dict[str, str]  # file name -> C/C++ text (encoder.c/.h, decoder_step.c/.h, config)
    window_frames: int  # W: frames of keypoint context the encoder sees
    arena_bytes: dict[str, int]  # planned scratch arena per prefix
    persistent_bytes: dict[str, int]  # planned persistent area per prefix (0 under TFLM)
    runtime: str = "c"  # "c" or "tflm"
    ops: tuple[str, ...] = ()  # builtin operators of both models (what TFLM must link)
    stream_hop: int = 0  # H when the encoder is streamed (frames per encoder invoke), 0 windowed
    stream_note: str = ""  # what streams (the plan's note) or why the encoder is windowed
    state_bytes: int = 0  # streamed: rows the encoder keeps between hops (its rings' states)

    @property
    def ring_frames(self) -> int:
        """Keypoint frames the firmware's ring must hold: the hop's when streamed, else W."""
        return self.stream_hop or self.window_frames


_CONFIG_TEMPLATE = Template("""\
/* fe_model_config.h: the exported pair as model_generated.c sees it. GENERATED by
 * firmware_bridge/boards/model_sources.py from $source; do not edit. */
#ifndef FE_MODEL_CONFIG_H
#define FE_MODEL_CONFIG_H

#include "decoder_step.h"
#include "encoder.h"
#include "fe_vocab.h"
${stream_include}
#define FE_MC_HASH 0x${hash}u
#define FE_MC_FPS ${fps}f
#define FE_MC_HOP ${hop}u            /* H: frames per hop */
#define FE_MC_WINDOW ${window}u         /* W: frames the encoder sees */
/* 1: the encoder is streamed (encoder_stream.h): each invoke takes the hop's new frames only */
#define FE_MC_STREAM ${stream}
#define FE_MC_ENC_FRAMES ${enc_frames}u      /* frames of the encoder input (H streamed, W windowed) */
#define FE_MC_PRIME_HOPS ${prime_hops}u      /* streamed: hops of the first frame before the first hop */
#define FE_MC_MAX_TOKENS ${max_tokens}     /* L: decoder positions per hop (SOS first) */
#define FE_MC_CACHE_LEN ${cache_len}      /* rows of each self-attention cache (L - 1) */
/* The decoder's clock (edge/model/clock.py): bin = min(min(cursor_us, CAP) * FPS_MILLI / 1e9, HOP) */
#define FE_MC_FPS_MILLI ${fps_milli}u
#define FE_MC_CLOCK_CAP_US ${clock_cap}u
#define FE_MC_INPUT_SCALE ${in_scale}f
#define FE_MC_INPUT_ZERO_POINT ${in_zp}
#define FE_MC_INPUT_FRAME ${in_frame}  /* FE_INPUT_FRAME_*: coordinates the host sends */

#define FE_MC_ENC_IN_KEYPOINTS ${enc_kp}
#define FE_MC_DEC_IN_TOKEN ${dec_token}
#define FE_MC_DEC_IN_POSITION ${dec_position}
#define FE_MC_DEC_IN_MASK ${dec_mask}
#define FE_MC_DEC_OUT_LOGITS ${dec_logits}
#define FE_MC_MASK_OPEN ${mask_open}      /* quantized 0: a key the step may attend to */
#define FE_MC_MASK_CLOSED ${mask_closed}   /* quantized mask_value: a cache row not written yet */

/* Hand-overs copied as bytes (the export pins both sides to one quantization). */
#define FE_MC_N_KV ${n_kv}
/* {encoder output, step input}: cross K/V, once per hop */
#define FE_MC_CROSS_PAIRS {$cross}
/* {step output, step input}: new K/V row -> cache row `position`, every step */
#define FE_MC_CACHE_PAIRS {$cache}
#define FE_MC_CACHE_ROW_BYTES ${row_bytes}u

_Static_assert(ENCODER_INPUT${enc_kp}_BYTES == FE_MC_ENC_FRAMES * 65u * 3u, "encoder input is not its frames");
_Static_assert(DECODER_STEP_OUTPUT${dec_logits}_BYTES == FE_VOCAB_SIZE, "logits are not the vocabulary");
_Static_assert(DECODER_STEP_INPUT${dec_mask}_BYTES == FE_MC_MAX_TOKENS, "mask is not L wide");

#endif /* FE_MODEL_CONFIG_H */
""")


def _read(export_dir: Path) -> dict[str, bytes]:
    missing = [n for n in EXPORT_FILES if not (export_dir / n).is_file()]
    if missing:
        raise ModelSourceError(f"{export_dir}: not an export folder: missing {', '.join(missing)} "
                               f"(expected {', '.join(EXPORT_FILES)} from foley-edge export)")
    return {n: (export_dir / n).read_bytes() for n in EXPORT_FILES}


def model_hash(export_dir: str | os.PathLike[str]) -> int:
    """CRC-32 of the export's three files: what HELLO's model_hash says for this model."""
    data = _read(Path(export_dir))
    crc = 0
    for name in EXPORT_FILES:
        crc = zlib.crc32(data[name], crc)
    return crc & 0xFFFFFFFF


def _index(io: dict, name: str, where: str, *, dtype: str) -> int:  # type: ignore[type-arg]
    if name not in io:
        raise ModelSourceError(f"{where}: no tensor named '{name}' in the signature "
                               f"(found {sorted(io)})")
    t = io[name]
    if t.dtype != dtype:
        raise ModelSourceError(f"{where}: tensor '{name}' must be {dtype}, found {t.dtype}")
    return int(t.position)


def _generate(flat: bytes, prefix: str, persistent: tuple[str, ...],
              runtime: str) -> tuple[dict[str, str], int, int, set[str]]:  # fmt: skip
    """(files, arena bytes, persistent bytes, operators) of one model under ``runtime``."""
    from export.planner.persistent import resolve_persistent
    from export.tflite_reader import read_tflite

    graph = read_tflite(flat)
    keep = resolve_persistent(graph, list(persistent))
    ops = {op.op for op in graph.operators}
    if runtime == "tflm":
        from export.tflm.runtime import tflm_model_sources

        t = tflm_model_sources(flat, prefix=prefix, persistent=keep)
        return t.files, t.arena_bytes, 0, ops
    from export.codegen import emit_c
    from export.planner.bands import plan_model
    from export.planner.verify import verify_plan

    graph, plan, _ = plan_model(graph, persistent=keep)
    verify_plan(graph, plan)
    return emit_c(graph, plan, prefix=prefix), plan.arena_bytes, plan.persistent_bytes, ops


@dataclass(frozen=True)
class StreamChoice:
    """Whether an encoder streams at a hop: its stream plan, or why it stays windowed."""

    hop: int  # frames per decoding hop (the model's hop_frames)
    plan: tuple[Any, Any, Any] | None  # (stream graph, MemoryPlan, Streaming); None: windowed
    note: str  # the plan's note, or the reason it is windowed
    cut: int | None = None  # the row-wise segment streamed (longest_cut), the same for TFLM


def stream_choice(encoder_flat: bytes, hop: int) -> StreamChoice:
    """The encoder ``encoder_flat`` streamed in hops of ``hop`` frames over its longest row-wise
    segment (:func:`export.planner.stream.longest_cut`), planned (:func:`plan_stream`) and
    checked (:func:`verify_plan`); windowed, with the planner's reason, when that segment does
    not stream whole at this hop (a hop that is not a multiple of its row strides, padding)."""
    from export.planner import PlanError
    from export.planner.stream import longest_cut, plan_stream
    from export.planner.verify import verify_plan
    from export.tflite_reader import read_tflite

    graph = read_tflite(encoder_flat)
    cut = longest_cut(graph)
    try:
        g2, plan, info = plan_stream(graph, hop, cut=cut)
    except PlanError as e:
        return StreamChoice(hop, None, f"windowed encoder: {e}")
    verify_plan(g2, plan)
    return StreamChoice(hop, (g2, plan, info), info.note(), cut)


def _config_header(export_dir: Path, data: dict[str, bytes], crc: int,  # type: ignore[no-untyped-def]
                   stream: StreamChoice | None):
    from edge.model.build import cache_names
    from edge.model.config import load_config
    from export.int8.flat import model_io

    cfg = load_config(export_dir / "config.json")
    enc_w, dec_w = export_dir / "encoder.tflite", export_dir / "decoder_step.tflite"
    enc, dec = model_io(data["encoder.tflite"], str(enc_w)), model_io(data["decoder_step.tflite"], str(dec_w))
    cross = cache_names(cfg, "cross")
    cross_pairs = [(_index(enc.outputs, n, str(enc_w), dtype="int8"),
                    _index(dec.inputs, n, str(dec_w), dtype="int8")) for n in cross]
    cache_pairs = [(_index(dec.outputs, n, str(dec_w), dtype="int8"),
                    _index(dec.inputs, c, str(dec_w), dtype="int8"))
                   for n, c in zip(cache_names(cfg, "new"), cache_names(cfg, "cache"), strict=True)]
    new0 = dec.outputs[cache_names(cfg, "new")[0]]
    row_bytes = 1
    for d in new0.shape:
        row_bytes *= d
    mask = dec.inputs["mask"] if "mask" in dec.inputs else None
    kp = enc.inputs.get("keypoints")
    values = {
        "source": f"{export_dir.name}/{{{', '.join(EXPORT_FILES)}}}", "hash": f"{crc:08X}",
        "fps": repr(float(cfg.fps)), "hop": cfg.hop_frames, "window": cfg.window_frames,
        "max_tokens": cfg.max_tokens, "cache_len": cfg.cache_len,
        "fps_milli": fps_milli(cfg), "clock_cap": cap_us(cfg),
        "enc_kp": _index(enc.inputs, "keypoints", str(enc_w), dtype="int8"),
        "dec_token": _index(dec.inputs, "token", str(dec_w), dtype="int32"),
        "dec_position": _index(dec.inputs, "position", str(dec_w), dtype="int32"),
        "dec_mask": _index(dec.inputs, "mask", str(dec_w), dtype="int8"),
        "dec_logits": _index(dec.outputs, "logits", str(dec_w), dtype="int8"),
        "in_scale": repr(float(kp.scale)), "in_zp": int(kp.zero_point),  # type: ignore[union-attr]
        "in_frame": int(InputFrame[cfg.input_frame.upper()]),
        "mask_open": int(mask.quantize(0.0)),  # type: ignore[union-attr]
        "mask_closed": int(mask.quantize(cfg.mask_value)),  # type: ignore[union-attr]
        "n_kv": len(cross), "row_bytes": row_bytes,
        "stream": int(stream is not None and stream.plan is not None),
        "stream_include": '#include "encoder_stream.h"\n' if stream and stream.plan else "",
        "enc_frames": cfg.hop_frames if stream and stream.plan else cfg.window_frames,
        # priming: the hops a stream needs before its output is the windowed one's, but one
        "prime_hops": stream.plan[2].warmup_hops - 1 if stream and stream.plan else 0,
        "cross": ", ".join(f"{{{a}, {b}}}" for a, b in cross_pairs),
        "cache": ", ".join(f"{{{a}, {b}}}" for a, b in cache_pairs),
    }
    if int(dec.outputs["logits"].shape[-1]) != vocab.VOCAB_SIZE:
        raise ModelSourceError(f"{dec_w}: logits must have {vocab.VOCAB_SIZE} entries (the "
                               f"vocabulary), found shape {dec.outputs['logits'].shape}")
    return _CONFIG_TEMPLATE.substitute(values), cfg


def _generate_stream(choice: StreamChoice, encoder_flat: bytes,
                     runtime: str) -> tuple[dict[str, str], int, int, set[str]]:  # fmt: skip
    """(files, arena bytes, persistent bytes, operators) of the streamed encoder: our stream
    plan's C, or under TFLite Micro the same rows with the states as explicit inputs and
    outputs (:func:`export.tflm.stream.tflm_stream_sources`, same segment, same API)."""
    from export.codegen.stream import emit_stream_c
    from export.tflite_reader import read_tflite

    assert choice.plan is not None
    g2, plan, info = choice.plan
    if runtime == "tflm":
        from export.tflm.stream import tflm_stream_sources

        src, model = tflm_stream_sources(encoder_flat, choice.hop, prefix=PREFIXES[0],
                                         cut=choice.cut)
        if model.streaming.warmup_hops != info.warmup_hops:
            raise ModelSourceError(f"streamed encoder: TFLite Micro's graph needs "
                                   f"{model.streaming.warmup_hops} warm-up hops, our plan "
                                   f"{info.warmup_hops}: the two streams differ")
        ops = {op.op for op in read_tflite(model.flatbuffer).operators}
        return src.files, src.arena_bytes, 0, ops
    ops = {op.op for op in g2.operators}
    return emit_stream_c(g2, plan, info, prefix=PREFIXES[0]), plan.arena_bytes, \
        plan.persistent_bytes, ops


def model_sources(export_dir: str | os.PathLike[str], *, runtime: str = "c",
                  stream: bool = True) -> ModelSources:
    """Sources of the export folder ``export_dir`` for the generic glue (see module doc);
    ``stream=False`` keeps the windowed encoder whatever the hop (``--no-stream``)."""
    from edge.model.config import load_config

    if runtime not in RUNTIMES:
        raise ModelSourceError(f"runtime {runtime!r}: expected one of {', '.join(RUNTIMES)}")
    folder = Path(export_dir).resolve()
    data = _read(folder)
    crc = model_hash(folder)
    hop = load_config(folder / "config.json").hop_frames
    if not stream:
        choice = StreamChoice(hop, None, "windowed encoder: streaming disabled (--no-stream)")
    else:
        choice = stream_choice(data["encoder.tflite"], hop)
    header, cfg = _config_header(folder, data, crc, choice)
    files = {"fe_model_config.h": header}
    arena, persistent, ops = {}, {}, set()
    for prefix, persist in zip(PREFIXES, ((), STEP_PERSISTENT), strict=True):
        if prefix == PREFIXES[0] and choice.plan is not None:
            code, arena[prefix], persistent[prefix], used = _generate_stream(
                choice, data["encoder.tflite"], runtime)
        else:
            code, arena[prefix], persistent[prefix], used = _generate(
                data[f"{prefix}.tflite"], prefix, persist, runtime)
        files.update(code)
        ops |= used
    streamed = choice.plan is not None
    return ModelSources(folder, crc, files, cfg.window_frames, arena, persistent, runtime,
                        tuple(sorted(ops)), stream_hop=hop if streamed else 0,
                        stream_note=choice.note,
                        state_bytes=choice.plan[2].state_bytes if streamed else 0)


def is_export_folder(folder: str | os.PathLike[str]) -> bool:
    """True when ``folder`` holds the three files of an export."""
    return all((Path(folder) / n).is_file() for n in EXPORT_FILES)
