"""foley-edge data synth|import-foley|show|demo-clip: datasets of (keypoints, MIDI) clips."""

from __future__ import annotations

import argparse
from pathlib import Path

from edge.assets import DEMO_CLIP


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``data`` and its sub-commands."""
    p = sub.add_parser("data", help="synthetic performances, Foley Music import, clip pictures")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    s = dsub.add_parser("synth", help="synthetic performances of real music (music21 corpus)")
    s.add_argument("--out", type=Path, required=True, help="dataset folder to write")
    s.add_argument("--pieces", type=int, default=50, help="number of corpus pieces (default 50)")
    s.add_argument("--instrument", choices=["piano", "violin", "mixed"], default="piano")
    s.add_argument("--seed", type=int, default=0, help="same seed => byte-identical dataset")
    s.add_argument("--fps", type=float, default=22.0, help="keypoint frame rate (default 22)")
    s.add_argument("--midi-dir", type=Path, default=None,
                   help="perform every .mid/.midi under this folder instead of the corpus")
    s.add_argument("--composers", default=None,
                   help="comma-separated corpus folders to draw from (e.g. bach,mozart)")
    s.add_argument("--cache-dir", type=Path, default=None, help="corpus → MIDI cache folder")
    s.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    s.add_argument("--hold-out", type=Path, action="append", default=[], metavar="DATASET",
                   help="never perform the pieces of DATASET's val and test splits, so a model "
                        "trained here can still be evaluated on DATASET's test split; the corpus "
                        "draw is widened to keep --pieces pieces (repeatable)")
    s.add_argument("--exclude", type=Path, action="append", default=[], metavar="DATASET|JSON",
                   help="never perform any piece of DATASET (all its splits) or of a JSON piece "
                        "list {\"pieces\": [...]}, e.g. edge/model/shipped/used_pieces.json: every "
                        "piece here is then new to a model trained on it (repeatable)")
    s.add_argument("--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=_synth)

    f = dsub.add_parser("import-foley", help="Foley Music pose + MIDI data into this format")
    f.add_argument("input", type=Path, help="folder in Foley Music's released layout")
    f.add_argument("--out", type=Path, required=True, help="dataset folder to write")
    f.add_argument("--fps", type=float, default=22.0, help="frame rate of the pose files")
    f.add_argument("--instrument", default=None, help="instrument name for the clips' meta")
    f.add_argument("--frame-size", default=None,
                   help="WxH in pixels when the pose files hold pixel coordinates")
    f.add_argument("--quiet", action="store_true", help="no progress bar")
    f.set_defaults(func=_import_foley)

    v = dsub.add_parser("show", help="skeleton frames aligned with the clip's piano roll (PNG)")
    v.add_argument("clip", type=Path, help="a clip .npz")
    v.add_argument("--out", type=Path, required=True, help="PNG to write")
    v.add_argument("--start", type=float, default=None, help="window start (s); default: first note")
    v.add_argument("--window", type=float, default=6.0, help="window length in seconds")
    v.set_defaults(func=_show)

    d = dsub.add_parser("demo-clip", help=f"(re)write the bundled demo clip {DEMO_CLIP.name}")
    d.add_argument("--out", type=Path, default=DEMO_CLIP, help="where to write it")
    d.add_argument("--seconds", type=float, default=8.0, help="length of the excerpt")
    d.set_defaults(func=_demo_clip)


def _synth(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from edge.data.synth.build import (
        build_synth_dataset,
        excluded_pieces,
        held_out_pieces,
        pieces_from_corpus,
        pieces_from_dir,
    )
    from edge.data.synth.params import PerformerParams

    held = frozenset().union(*(held_out_pieces(d) for d in args.hold_out),
                             *(excluded_pieces(d) for d in args.exclude))
    if args.midi_dir is not None:
        pieces = [p for p in pieces_from_dir(args.midi_dir) if p.name not in held]
        source = f"midi-dir:{args.midi_dir.name}"
    else:
        composers = tuple(args.composers.split(",")) if args.composers else None
        pieces = pieces_from_corpus(args.pieces, seed=args.seed, composers=composers,
                                    cache_dir=args.cache_dir, progress=not args.quiet,
                                    exclude=held)
        source = "music21-corpus"
    if held:
        named = [f"{d} (val/test)" for d in args.hold_out] + [f"{d} (all)" for d in args.exclude]
        print(f"holding out {len(held)} pieces of {', '.join(named)}")
    params = replace(PerformerParams(), fps=args.fps)
    summary = build_synth_dataset(args.out, pieces, instrument=args.instrument, seed=args.seed,
                                  params=params, source=source, workers=args.workers,
                                  progress=not args.quiet)
    print(f"wrote {summary.root}: {summary.counts} clips, {summary.audio_s / 60:.1f} min of "
          f"performance, {summary.frames} frames, {summary.bytes_on_disk / 1e6:.1f} MB")
    print(f"performed {sum(summary.counts.values())} pieces in {summary.seconds:.1f} s "
          f"({summary.pieces_per_minute:.0f} pieces/min); {len(summary.failed)} failed")
    for name, why in summary.failed[:5]:
        print(f"  skipped {name}: {why}")
    return 0


def _import_foley(args: argparse.Namespace) -> int:
    from edge.data.foley_import import import_foley, parse_frame_size

    frame = parse_frame_size(args.frame_size) if args.frame_size else None
    summary = import_foley(args.input, args.out, fps=args.fps, instrument=args.instrument,
                           frame_size=frame, progress=not args.quiet)
    print(f"wrote {summary.root}: {summary.counts} clips ({summary.layout} layout), "
          f"{summary.frames} frames")
    for name, why in summary.skipped[:10]:
        print(f"  skipped {name}: {why}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from edge.data.clip import load_clip
    from edge.data.show import save_clip_png

    out = save_clip_png(load_clip(args.clip), args.out, start_s=args.start, window_s=args.window)
    print(f"wrote {out}")
    return 0


def _demo_clip(args: argparse.Namespace) -> int:
    from edge.data.synth.demo import write_demo_clip

    path = write_demo_clip(args.out, seconds=args.seconds)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")
    return 0
