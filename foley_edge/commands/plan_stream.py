"""``foley-edge plan MODEL --stream H``: the streaming encoder's per-hop cost and kept state.

The plan of :func:`export.planner.stream.plan_stream` (only the rows a hop of H frames makes
new are computed, past rows kept in the persistent area), next to the windowed graph it
replaces: MACs per hop and per frame, rows computed, each ring's kept rows, the arena and the
persistent area. ``--stream-tflite OUT`` also writes the streaming encoder for TFLite Micro
(:func:`export.tflm.stream.stream_tflite`: the rings' states as explicit inputs and outputs).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def parse_stream(spec: str) -> int:
    """``--stream``: a hop in frames (an integer of at least 1)."""
    from export.planner import PlanError

    if spec.isdigit() and int(spec) >= 1:
        return int(spec)
    raise PlanError(f"--stream {spec!r}: expected a hop in frames, an integer of at least 1")


def stream_report(graph: Any, stream: Any, plan: Any, info: Any) -> dict[str, Any]:
    """The JSON document of a stream plan (``graph``: the windowed graph, ``stream``: the
    per-hop graph planned by ``plan``, ``info``: its :class:`Streaming`)."""
    return {
        "model": graph.name, "hop_frames": info.hop, "window_frames": info.window,
        "cut_tensor": info.cut, "cut_name": graph.tensors[info.cut].name,
        "segment_operators": len(info.segment), "operators_per_hop": len(stream.operators),
        "macs_per_hop": info.macs_hop, "macs_windowed": info.macs_window,
        "macs_per_frame": round(info.macs_hop / info.hop, 1),
        "rows_per_hop": info.rows_hop, "rows_windowed": info.rows_window,
        "state_bytes": info.state_bytes, "shift_bytes_per_hop": info.shift_bytes,
        "persistent_bytes": plan.persistent_bytes, "arena_bytes": plan.arena_bytes,
        "warmup_hops": info.warmup_hops,
        "rings": [{"tensor": r.tensor, "name": graph.tensors[r.tensor].name, "keep_rows": r.keep,
                   "fresh_rows": r.fresh, "row_bytes": r.row_bytes,
                   "state_bytes": r.keep * r.row_bytes} for r in info.rings],
        "notes": list(plan.notes),
    }


def _print(doc: dict[str, Any]) -> None:
    h = doc["hop_frames"]
    print(f"{doc['model']}: stream of {h}-frame hops over a {doc['window_frames']}-frame window "
          f"({doc['segment_operators']} operators up to tensor {doc['cut_tensor']} on fresh rows "
          "only; the rest per hop as it is)")
    print(f"  MACs per hop      {doc['macs_per_hop']:>12,}   (windowed graph "
          f"{doc['macs_windowed']:,} per invoke: "
          f"{doc['macs_windowed'] / max(1, doc['macs_per_hop']):.1f}x)")
    print(f"  MACs per frame    {doc['macs_per_frame']:>12,.0f}")
    print(f"  rows per hop      {doc['rows_per_hop']:>12,}   (windowed {doc['rows_windowed']:,})")
    print(f"  state kept        {doc['state_bytes']:>12,} B (moved per hop by the shift)")
    print(f"  persistent area   {doc['persistent_bytes']:>12,} B (the rings' blocks: kept + "
          "fresh rows)")
    print(f"  arena             {doc['arena_bytes']:>12,} B")
    print(f"  exact after       {doc['warmup_hops']:>12} hops from a reset")
    for r in doc["rings"]:
        print(f"  ring tensor {r['tensor']:>4}: keep {r['keep_rows']} + fresh {r['fresh_rows']} "
              f"rows of {r['row_bytes']} B  '{r['name'][:60]}'")


def _write_stream_tflite(model: Path, hop: int, out: Path) -> dict[str, Any]:
    """Write the streaming encoder for TFLite Micro (:func:`export.tflm.stream.stream_tflite`);
    what it holds, for the report."""
    from edge.data.clip import write_atomic
    from export.tflm.stream import stream_tflite

    m = stream_tflite(model.read_bytes(), hop)
    write_atomic(out, m.flatbuffer)
    return {"path": str(out), "bytes": len(m.flatbuffer), "state_inputs": m.states,
            "encoder_outputs": m.outputs}


def run_stream(args: argparse.Namespace) -> int:
    """Plan the stream graph, verify it, print (or ``--json``) its report; ``--plot`` draws it."""
    from export.planner import PlanError
    from export.planner.persistent import resolve_persistent
    from export.planner.stream import plan_stream
    from export.planner.verify import verify_plan
    from export.tflite_reader import read_tflite

    for flag, value in (("--planned", args.planned), ("--tflm-bundle", args.tflm_bundle)):
        if value:
            raise PlanError(f"{flag} writes the windowed model's TFLM plan: not with --stream "
                            "(--stream-tflite writes the streaming encoder for TFLM)")
    hop = parse_stream(args.stream)
    graph = read_tflite(args.model)
    strategy = "model" if args.strategy == "auto" else args.strategy
    stream, plan, info = plan_stream(graph, hop, strategy=strategy,
                                     persistent=resolve_persistent(graph, args.persistent))
    verify_plan(stream, plan)
    if args.plot:
        from export.planner.plot import plot_plan

        args.plot.parent.mkdir(parents=True, exist_ok=True)
        plot_plan(stream, plan, args.plot, title=f"{args.model.name} (stream, hop {hop})")
    doc = stream_report(graph, stream, plan, info)
    doc["model"] = args.model.stem
    if args.stream_tflite:
        doc["stream_tflite"] = _write_stream_tflite(args.model, hop, args.stream_tflite)
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        _print(doc)
        if "stream_tflite" in doc:
            s = doc["stream_tflite"]
            print(f"  TFLite Micro      {s['bytes']:>12,} B -> {s['path']} (inputs: frames + "
                  f"{s['state_inputs']} states; outputs: {s['encoder_outputs']} + the next "
                  "states, copied back before each hop)")
    return 0
