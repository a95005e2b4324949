"""foley-edge export: int8 TFLite pair + checks + report, ONNX import, host decoding of a clip.

::

    foley-edge export --model RUN --out DIR [--data D]       run folder -> DIR/encoder.tflite,
                                                             decoder_step.tflite, *.onnx, report
    foley-edge export --onnx MODEL.onnx --calibration D --out DIR
    foley-edge export --decode CLIP.npz --pair DIR --backend litert|tflm|c --midi OUT.mid

A missed target exits non-zero (``TargetError``) after writing DIR/report.md marked FAILED.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``export`` command."""
    p = sub.add_parser("export", help="int8 TFLite / ONNX export with self-checks; host decoding")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--model", metavar="RUN", help="run folder written by train/distill")
    mode.add_argument("--onnx", metavar="MODEL", help="import an ONNX model (onnx2tf) to int8")
    mode.add_argument("--decode", metavar="CLIP", help="decode a clip with an exported pair")
    p.add_argument("--out", metavar="DIR", help="output folder (--model, --onnx)")
    p.add_argument("--data", metavar="D", help="dataset folder (default: the run's)")
    p.add_argument("--calibration", metavar="D", help="dataset folder or .npz (--onnx)")
    p.add_argument("--calib-windows", type=int, default=64, help="calibration windows")
    p.add_argument("--eval-windows", type=int, default=32, help="test windows (teacher forced)")
    p.add_argument("--greedy-windows", type=int, default=8, help="test windows decoded greedily")
    p.add_argument("--no-onnx", action="store_true", help="skip the ONNX export of the float models")
    p.add_argument("--diagnose", action="store_true",
                   help="also tabulate every tensor's int8 error against the float model "
                        "(report.md: where the int8 error comes from)")
    p.add_argument("--pair", metavar="DIR", help="export folder to decode with (--decode)")
    p.add_argument("--backend", default="litert", choices=("litert", "tflm", "c"))
    p.add_argument("--midi", metavar="OUT", help="MIDI file to write (--decode)")
    p.set_defaults(func=run)


def _need(args: argparse.Namespace, *names: str) -> None:
    from export.int8.errors import ExportError

    for n in names:
        if getattr(args, n) is None:
            raise ExportError(f"export: --{n} is required here (found nothing)")


def run(args: argparse.Namespace) -> int:
    """Dispatch to the export, import or decode mode."""
    if args.model is not None:
        from export.int8.pipeline import ExportSettings, export_run

        _need(args, "out")
        s = ExportSettings(data=args.data, calib_windows=args.calib_windows,
                           eval_windows=args.eval_windows, greedy_windows=args.greedy_windows,
                           onnx=not args.no_onnx, diagnose=args.diagnose)
        report = export_run(args.model, args.out, s)
        print(f"export {report['status']}: {args.out}/report.md")
        return 0
    if args.onnx is not None:
        from export.onnx_io import import_onnx

        _need(args, "calibration", "out")
        report = import_onnx(args.onnx, args.calibration, args.out)
        print(f"import {report['status']}: {args.out}/report.md")
        return 0
    return _decode(args)


def _decode(args: argparse.Namespace) -> int:
    from edge.data.clip import load_clip
    from edge.midi.codec import write_midi
    from export.host_decode import decode_clip, load_pair

    _need(args, "pair", "midi")
    cfg, enc, step = load_pair(args.pair, args.backend)
    result = decode_clip(cfg, enc, step, load_clip(args.decode).keypoints, progress=True)
    write_midi(result.midi, args.midi)
    notes = len(result.midi.instruments[0].notes)
    print(f"{len(result.hop_tokens)} hops, {sum(map(len, result.hop_tokens))} tokens, "
          f"{notes} notes -> {args.midi}")
    return 0
