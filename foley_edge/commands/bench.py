"""foley-edge bench: SRAM / flash / latency of the generated C side by side with TFLM.

``foley-edge bench [--json] [--out benchmarks/results]`` runs every figure of
:mod:`benchmarks` (zoo models, the student and teacher, TinyEngine's three MCUNet models read
from ``--tinyengine DIR``, the scaling sweep) and writes
results.json, results.md and PNGs; ``--quick`` is the smoke run (one tiny model, memory, flash
and host instructions, no QEMU, no sweep). ``foley-edge bench MODEL.tflite [MODEL ...]
[--board B ...] [--persistent NAME ...]`` measures the models a user brings instead, side by
side with TFLite Micro + CMSIS-NN on each board. The student's encoder is also streamed
on each board in hops of ``--stream-hop H`` frames (default 4; ``--no-stream`` skips it):
instructions per hop and per frame, SRAM and flash beside the windowed encoder's.

Time: TinyEngine's models add about 7.5 minutes of board runs on the three emulated boards and
1.3 minutes of host callgrind (measured at 884120d on 2 cores shared with other jobs: per model
and the three boards, vww1 2.2 min, detection 1.9 min, mcunetv2-large 3.5 min; the longest
step, TFLite Micro on mcunetv2-large on one board (image build, wheel check, three invokes in
QEMU), about 40 s, well within the bench's 240 s QEMU limit per image). ``--no-tinyengine``
leaves them out.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands."""
    from firmware_bridge.boards.registry import BOARDS

    p = sub.add_parser("bench", help="SRAM / flash / latency benchmarks, side by side with "
                                     "TFLite Micro + CMSIS-NN on the board")
    p.add_argument("models", nargs="*", metavar="MODEL.tflite",
                   help="int8 models to measure instead of the built-in set")
    p.add_argument("--board", action="append", default=None, metavar="B",
                   choices=sorted(b for b, v in BOARDS.items() if v.emulated),
                   help="emulated board (repeatable; default qemu-m4, qemu-m7, qemu-m55)")
    p.add_argument("--persistent", action="append", default=None, metavar="NAME",
                   help="with MODEL.tflite: inputs kept across invocations (index, tensor name "
                        "or substring of an input name, as in 'plan --persistent'; repeatable)")
    p.add_argument("--no-peer", action="store_true",
                   help="skip TFLite Micro + CMSIS-NN on the boards")
    p.add_argument("--out", default="benchmarks/results",
                   help="folder for results.json, results.md and PNGs (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="also print results.json to stdout")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: zoo mlp only, no QEMU, no sweep")
    p.add_argument("--zoo", default=None,
                   help="comma-separated zoo models (default: every zoo model; an unknown name "
                        "lists them)")
    p.add_argument("--student", metavar="DIR",
                   help="export folder of the trained student ('foley-edge export --out DIR'); "
                        "default: the shipped student's export (made on first use, as "
                        "'foley-edge build' does), or the untrained default StudentConfig "
                        "(same shapes) until a student is shipped")
    p.add_argument("--no-teacher", action="store_true", help="skip the teacher")
    p.add_argument("--tinyengine", metavar="DIR", default=None,
                   help="folder of TinyEngine's mcunet-vww1, mcunet-detection and mcunetv2-large "
                        ".tflite (read in place, never copied; default: ../shared/models beside "
                        "the repository; a missing file is listed under 'Not available')")
    p.add_argument("--no-tinyengine", action="store_true", help="skip TinyEngine's models")
    p.add_argument("--no-qemu", action="store_true", help="skip the emulated-board figures")
    p.add_argument("--no-host", action="store_true", help="skip callgrind host instructions")
    p.add_argument("--no-scaling", action="store_true", help="skip the scaling sweep")
    p.add_argument("--no-stream", action="store_true",
                   help="skip the streamed student encoder on the boards")
    p.add_argument("--stream-hop", type=_hop, default=4, metavar="H",
                   help="frames per hop of the streamed student encoder (default: %(default)s)")
    p.set_defaults(func=run)


def _hop(text: str) -> int:
    """``--stream-hop``'s value: a whole number of frames, at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a hop in frames (1, 2, ...), found {text!r}")
    return int(text)


def _models(args: argparse.Namespace) -> tuple[tuple, tuple]:
    """(the models to measure, Unavailable rows for the models that are not there)."""
    from benchmarks import BenchError
    from benchmarks.models import tinyengine_models

    if args.models:
        from benchmarks.models import user_models

        if args.tinyengine:
            raise BenchError("--tinyengine does not apply with MODEL.tflite arguments")
        return tuple(user_models(args.models, tuple(args.persistent or ()))), ()
    if args.persistent:
        raise BenchError("--persistent applies to MODEL.tflite arguments only")
    if args.tinyengine and (args.no_tinyengine or args.quick):
        raise BenchError("--tinyengine DIR conflicts with --no-tinyengine / --quick")
    models = _built_in(args)
    if args.quick or args.no_tinyengine:
        return models, ()
    found, missing = tinyengine_models(args.tinyengine)
    return (*models, *found), tuple(missing)


def _built_in(args: argparse.Namespace) -> tuple:
    """The zoo models, the student and the teacher that the arguments select."""
    from dataclasses import replace

    from benchmarks import BenchError
    from benchmarks.models import ZOO_NAMES, config_model, exported_models, zoo_models
    from edge.model.config import StudentConfig, TeacherConfig

    if args.quick:
        names: tuple[str, ...] = ("mlp",)
    else:
        names = ZOO_NAMES if args.zoo is None else tuple(n for n in args.zoo.split(",") if n)
    bad = sorted(set(names) - set(ZOO_NAMES))
    if bad:
        raise BenchError(f"--zoo: unknown models {bad} (expected some of {', '.join(ZOO_NAMES)})")
    models = list(zoo_models(names))
    if args.quick:
        return tuple(models)
    if args.student:
        models += exported_models(args.student, "student")
    else:  # the shipped student's export (made on first use), as the board runs it
        from firmware_bridge.boards.default_model import default_export

        dm = default_export()
        if dm.trained:
            models += [replace(m, note=f"shipped student, export {dm.export_dir}")
                       for m in exported_models(dm.export_dir, "student")]
        else:
            models += [config_model(StudentConfig(), r, name=f"student {r}", family="student")
                       for r in ("encoder", "step")]
    if not args.no_teacher:
        models += [config_model(TeacherConfig(), r, name=f"teacher {r}", family="teacher")
                   for r in ("encoder", "step")]
    return tuple(models)


def run(args: argparse.Namespace) -> int:
    """Run the bench and write its files."""
    from tqdm import tqdm

    from benchmarks.output import results_dict, write_results
    from benchmarks.runner import BenchOptions, run_bench
    from benchmarks.scaling import AXES

    argv = sys.argv[1:] if sys.argv[1:2] == ["bench"] else ["bench"]
    command = "foley-edge " + " ".join(argv)
    with tqdm(total=1, desc="models", unit="step", file=sys.stderr) as bar:
        models, missing = _models(args)
        bar.update(1)
    axes = {} if args.no_scaling or args.quick or args.models else AXES
    boards = tuple(dict.fromkeys(args.board)) if args.board else BenchOptions.boards
    opts = BenchOptions(models=models, boards=boards, qemu=not (args.no_qemu or args.quick),
                        host=not args.no_host, peer=not args.no_peer, scaling_axes=axes,
                        unavailable=missing, stream_hop=None if args.no_stream else args.stream_hop)
    with tqdm(desc="bench", unit="step", file=sys.stderr) as bar:
        def total(n: int) -> None:
            bar.total = n
            bar.refresh()

        def progress(label: str) -> None:
            bar.set_postfix_str(label[:40])
            bar.update(1)

        res, gens = run_bench(opts, progress, total)
    paths = write_results(res, gens, Path(args.out), command)
    if args.json:
        print(json.dumps(results_dict(res, command), indent=1))
    for p in paths[:2]:
        print(f"wrote {p}", file=sys.stderr)
    print(f"wrote {len(paths) - 2} PNGs into {args.out}; {len(res.unavailable)} figures "
          "not available (see results.md)", file=sys.stderr)
    return 0
