"""foley-edge demo: the whole chain on the default emulated board (``make demo``).

``demo --out DIR`` exports the default model (shipped student, else an UNTRAINED stand-in,
said loudly), builds the firmware for qemu-m7, boots it in QEMU, streams the bundled clip and
writes DIR/demo.mid, DIR/demo.wav, DIR/demo.png and DIR/report.json, then prints the size and
latency report (:mod:`firmware_bridge.player.demo`). The export and the build are cached by
content hash under ``--cache``, so a second run only boots and streams. The tools' own chatter
(TensorFlow, the converter, the compiler) goes to DIR/demo.log; the terminal shows one
progress line per step.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

DEFAULT_OUT = Path("out") / "demo"
RULE = "=" * 78


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands."""
    from edge.assets import DEMO_CLIP
    from firmware_bridge.boards.default_model import DEFAULT_CACHE
    from firmware_bridge.boards.registry import BOARDS, DEFAULT_BOARD

    p = sub.add_parser("demo", help="export, build, boot, stream the demo clip: MIDI + WAV + report")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"default {DEFAULT_OUT}")
    p.add_argument("--board", default=DEFAULT_BOARD,
                   choices=sorted(b for b in BOARDS if BOARDS[b].emulated))
    p.add_argument("--clip", type=Path, default=DEMO_CLIP, help="keypoint clip (.npz)")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                   help=f"exports and builds, keyed by content (default {DEFAULT_CACHE})")
    p.add_argument("--no-pace", action="store_true",
                   help="stream as fast as the board goes (default: the clip's real time)")
    p.add_argument("--no-wav", action="store_true", help="skip demo.wav (no FluidSynth)")
    p.add_argument("--runtime", choices=("c", "tflm"), default="c",
                   help="what runs the model: c = our generated C (default), tflm = TensorFlow "
                        "Lite Micro + CMSIS-NN (the peer)")
    p.set_defaults(func=_demo)


@contextlib.contextmanager
def _tools_to_log(log: Path) -> Iterator[TextIO]:
    """fds 1 and 2 go to ``log`` inside; yields a stream on the real stderr for progress."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    console = os.fdopen(os.dup(2), "w", buffering=1)
    with open(log, "ab") as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            yield console
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            console.close()


def _model_lines(result) -> list[str]:  # type: ignore[no-untyped-def] # DemoResult
    import json

    m = result.model
    if not m.trained:
        return [RULE, "MODEL: UNTRAINED STUDENT STAND-IN — the shipped student is not in this "
                "checkout;", "       the notes below come from seeded random weights, not "
                "from a trained model.", f"       {m.description}", RULE]
    metrics = json.loads(result.files["json"].read_text())["model"]["metrics"]
    shown = ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                      for k, v in metrics.items() if k != "source")
    return [f"model      {m.description}",
            f"metrics    {shown or 'none recorded'}" + (f"  ({metrics['source']})"
                                                       if "source" in metrics else "")]


def _print_report(result, elapsed_s: float) -> None:  # type: ignore[no-untyped-def]
    from firmware_bridge.player.report import latency_lines, size_lines

    b = result.build
    lines = [
        *_model_lines(result),
        f"board      {b.board.name} ({b.board.cpu}), firmware {b.elf}"
        + ("  [cached build]" if result.build_reused else ""),
        *size_lines(result.numbers),
        *latency_lines(result.numbers),
        *(f"error      {e}" for e in result.stream.progress.errors),
        *(f"wrote      {p}" for p in result.files.values()),
        f"took       {elapsed_s:.0f} s",
    ]
    print("\n".join(lines))


def _demo(args: argparse.Namespace) -> int:
    import time

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from firmware_bridge.player.demo import DemoSettings, run_demo
    from firmware_bridge.player.demo_progress import DemoProgress

    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out.resolve() / "demo.log"
    log.unlink(missing_ok=True)
    settings = DemoSettings(out=args.out, board=args.board, clip=args.clip, cache=args.cache,
                            pace=not args.no_pace, wav=not args.no_wav, runtime=args.runtime)
    t0 = time.monotonic()
    try:
        with _tools_to_log(log) as console, DemoProgress(console) as progress:
            result = run_demo(settings, on_step=progress.step, on_status=progress.status)
    except BaseException:
        print(f"(the tools' output is in {log})", file=sys.stderr)
        raise
    _print_report(result, time.monotonic() - t0)
    return 0
