"""foley-edge memory plan of a .tflite: peak, lower bound, TFLM arena, plot, TFLM outputs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``plan`` sub-command."""
    p = sub.add_parser("plan", help="memory plan of a .tflite: peak, lower bound, TFLM arena")
    p.add_argument("model", type=Path, help="int8 .tflite model")
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.add_argument("--plot", type=Path, metavar="PNG", help="draw the timeline (operator x address)")
    p.add_argument("--strategy", default="auto", choices=("auto", "model", "search"),
                   help="execution order: best of both (auto), the model's, or the searched one")
    p.add_argument("--persistent", nargs="*", default=[], metavar="TENSOR",
                   help="tensors kept in the persistent area: indices, or a substring of graph "
                        "input names (e.g. 'cache' for KV cache inputs)")
    p.add_argument("--bands", default="auto", metavar="auto|off|N",
                   help="stream the leading row-wise segment N bands of rows at a time, as the "
                        "generated C runs it (auto: where it lowers the arena by 10%% or more; "
                        "the schedule and tensors are then the banded graph's)")
    p.add_argument("--patches", default="auto", metavar="auto|off|N",
                   help="run a CNN's leading stage one NxN spatial tile at a time (MCUNetV2 "
                        "2-D patches, halos recomputed) as the generated C runs it (auto: 2x2, "
                        "3x3 or 4x4 where it plans below the bands' choice; needs --bands auto)")
    p.add_argument("--stream", metavar="H",
                   help="plan the streaming encoder instead: per hop of H new frames only the rows "
                        "they make new, past rows kept in the persistent area; prints MACs per "
                        "hop and the state kept (H a multiple of the temporal strides)")
    p.add_argument("--stream-tflite", type=Path, metavar="TFLITE",
                   help="with --stream: also write the streaming encoder for TFLite Micro "
                        "(inputs: the hop's frames, then each ring's state; outputs: the "
                        "encoder's, then each next state, to copy back before the next hop)")
    p.add_argument("--no-tflm", action="store_true", help="skip measuring TFLM's arena")
    p.add_argument("--planned", type=Path, metavar="TFLITE",
                   help="write the model with our plan as OfflineMemoryAllocation metadata")
    p.add_argument("--tflm-bundle", type=Path, metavar="DIR",
                   help="write a TFLM bundle (model array, op resolver, arena size)")
    p.set_defaults(func=run)


def _auto_off_or_count(flag: str, spec: str, count: str) -> str | int:
    """``spec`` of ``flag``: "auto", "off" or an integer of at least 2 (``count`` names it)."""
    from export.planner import PlanError

    if spec in ("auto", "off"):
        return spec
    if spec.isdigit() and int(spec) >= 2:
        return int(spec)
    raise PlanError(f"{flag} {spec!r}: expected auto, off or {count} of at least 2")


def parse_bands(spec: str) -> str | int:
    """``--bands``: "auto", "off" or a count of at least 2."""
    return _auto_off_or_count("--bands", spec, "a band count")


def parse_patches(spec: str) -> str | int:
    """``--patches``: "auto", "off" or tiles per side (at least 2)."""
    return _auto_off_or_count("--patches", spec, "tiles per side")


def _area(plan: Any, t: int) -> str:
    if t in plan.tensor_offsets:
        return "arena"
    return "persistent" if t in plan.persistent_offsets else "caller"


def _rewrite(rewrite: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The JSON ``banding`` and ``patching`` entries of ``plan_model``'s rewrite."""
    from export.planner.patches import Patching

    if rewrite is None:
        return None, None
    if isinstance(rewrite, Patching):
        return None, {
            "grid": list(rewrite.grid), "tiles": rewrite.bands, "cut_tensor": rewrite.cut,
            "segment_operators": len(rewrite.segment), "recompute": round(rewrite.recompute, 4),
            "macs_computed": rewrite.macs_computed, "macs_original": rewrite.macs_original,
            "pixels_computed": rewrite.rows_computed, "pixels_original": rewrite.rows_original,
            "copied_bytes": rewrite.copied_bytes}
    return {"bands": rewrite.bands, "cut_tensor": rewrite.cut,
            "segment_operators": len(rewrite.segment),
            "rows_computed_over_original": round(rewrite.rows_computed
                                                 / max(1, rewrite.rows_original), 4),
            "copied_bytes": rewrite.copied_bytes}, None


def _report(graph: Any, plan: Any, tflm: Any, tflm_planned: Any,
            banding: Any = None) -> dict[str, Any]:
    """The JSON document of a plan (``banding``: plan_model's band or patch rewrite)."""
    tensors = []
    for t in sorted({*plan.tensor_offsets, *plan.persistent_offsets, *plan.caller_tensors}):
        b = plan.buffers.get(t)
        tensors.append({
            "index": t, "name": graph.tensors[t].name, "bytes": graph.tensors[t].nbytes,
            "area": _area(plan, t),
            "offset": plan.tensor_offsets.get(t, plan.persistent_offsets.get(t)),
            "first_step": b.first_op if b else None, "last_step": b.last_op if b else None,
            "alias_of": plan.aliases.get(t),
        })
    bands, patches = _rewrite(banding)
    ours = plan.arena_bytes + plan.persistent_bytes
    return {
        "model": graph.name,
        "peak_bytes": plan.arena_bytes,
        "lower_bound_bytes": plan.lower_bound_bytes,
        "peak_over_lower_bound": round(plan.arena_bytes / max(plan.lower_bound_bytes, 1), 4),
        "live_bytes_bound": plan.live_bytes_bound,
        "peak_over_live_bytes_bound": round(plan.arena_bytes / max(plan.live_bytes_bound, 1), 4),
        "persistent_bytes": plan.persistent_bytes,
        "tflm_arena_bytes": tflm.total_bytes if tflm else None,
        "tflm_arena_head_bytes": tflm.head_bytes if tflm else None,
        "tflm_arena_tail_bytes": tflm.tail_bytes if tflm else None,
        "tflm_planned_arena_bytes": tflm_planned.total_bytes if tflm_planned else None,
        "ours_over_tflm": round(ours / tflm.total_bytes, 4) if tflm else None,
        "alignment": plan.alignment,
        "schedule": [{"step": i, "operator": k, "op": graph.operators[k].op}
                     for i, k in enumerate(plan.order)],
        "tensors": tensors,
        "scratch": [{"operator": k, "offset": b.offset, "bytes": b.size} for k, b in plan.scratch.items()],
        "notes": list(plan.notes),
        "banding": bands,
        "patching": patches,
        "caller_tensors": [{"index": t, "name": graph.tensors[t].name,
                            "dtype": graph.tensors[t].dtype, "bytes": graph.tensors[t].nbytes,
                            "input": graph.inputs.index(t) if t in graph.inputs else None,
                            "output": graph.outputs.index(t) if t in graph.outputs else None}
                           for t in plan.caller_tensors],
    }


def _print_summary(doc: dict[str, Any]) -> None:
    tflm = doc["tflm_arena_bytes"]
    bands, patches = doc.get("banding"), doc.get("patching")
    streamed = (f" (the model's first {bands['segment_operators']} streamed in {bands['bands']} "
                "bands of time steps)") if bands else ""
    if patches:
        gh, gw = patches["grid"]
        streamed = (f" (the model's first {patches['segment_operators']} operators run in "
                    f"{gh}x{gw} tiles (recompute {100 * patches['recompute']:.1f} %))")
    print(f"{doc['model']}: {len(doc['schedule'])} operators{streamed}")
    print(f"  planned peak      {doc['peak_bytes']:>10,} B")
    print(f"  max live bytes    {doc['live_bytes_bound']:>10,} B   "
          f"(peak / live = {doc['peak_over_live_bytes_bound']:.3f}; below 1: outputs overlap inputs)")
    print(f"  lower bound       {doc['lower_bound_bytes']:>10,} B   "
          f"(peak / bound = {doc['peak_over_lower_bound']:.3f}; live bytes less allowed overlaps)")
    print(f"  persistent area   {doc['persistent_bytes']:>10,} B")
    if doc["caller_tensors"]:
        caller = sum(t["bytes"] for t in doc["caller_tensors"])
        print(f"  caller's buffers  {caller:>10,} B   (float inputs / outputs, not in the arena)")
    if tflm is not None:
        print(f"  TFLM arena        {tflm:>10,} B   (head {doc['tflm_arena_head_bytes']:,} + "
              f"tail {doc['tflm_arena_tail_bytes']:,})")
        print(f"  ours / TFLM       {doc['ours_over_tflm']:>10.3f}"
              + ("   (our caller's buffers not counted; TFLM's arena holds its inputs and "
                 "outputs)" if doc["caller_tensors"] else ""))
    for note in doc["notes"]:
        print(f"  note: {note}")


def run(args: argparse.Namespace) -> int:
    """Plan, verify, report; optionally plot and write PLANNED.tflite / a TFLM bundle."""
    from edge.data.clip import write_atomic
    from export.planner.bands import plan_model
    from export.planner.persistent import resolve_persistent
    from export.planner.verify import verify_plan
    from export.tflite_reader import read_tflite

    if args.stream_tflite and args.stream is None:
        from export.planner import PlanError

        raise PlanError("--stream-tflite writes the streaming encoder: expected --stream H too")
    if args.stream is not None:
        from foley_edge.commands.plan_stream import run_stream

        return run_stream(args)
    data = args.model.read_bytes() if args.model.is_file() else None
    graph = read_tflite(data if data is not None else args.model)
    ours, plan, banding = plan_model(graph, strategy=args.strategy,
                                     persistent=resolve_persistent(graph, args.persistent),
                                     bands=parse_bands(args.bands),
                                     patches=parse_patches(args.patches))
    verify_plan(ours, plan)
    tflm = tflm_planned = planned = None
    if not args.no_tflm or args.planned or args.tflm_bundle:
        from export.tflm.arena import measure_tflm_arena
        from export.tflm.offline_plan import tflm_plan, write_offline_plan

        tflm = measure_tflm_arena(data)
        safe = tflm_plan(graph, strategy=args.strategy, persistent=resolve_persistent(graph, args.persistent))
        planned = write_offline_plan(data, graph, safe)
        tflm_planned = measure_tflm_arena(planned)
    if args.planned:
        write_atomic(args.planned, planned)
    if args.tflm_bundle:
        from export.tflm.bundle import emit_tflm_bundle

        files = emit_tflm_bundle(planned, graph, tflm_planned.total_bytes, args.model.stem, planned=True)
        for name, text in files.items():
            write_atomic(args.tflm_bundle / name, text.encode())
    if args.plot:
        from export.planner.plot import plot_plan

        args.plot.parent.mkdir(parents=True, exist_ok=True)
        plot_plan(ours, plan, args.plot, title=args.model.name)
    doc = _report(ours, plan, tflm, tflm_planned, banding)
    doc["model"] = args.model.stem
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        _print_summary(doc)
    return 0
