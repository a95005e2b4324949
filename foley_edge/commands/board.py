"""foley-edge build|flash|play: firmware images, boards (QEMU or pyocd), streaming.

``build --board B [--model DIR | --no-model] [--out DIR]`` compiles the firmware and prints its
size report (size.json beside firmware.elf); ``--model`` is an export folder (or a folder of
model-hook C sources); without it the default model is used (the shipped student's export,
made on the fly into out/cache, see :mod:`firmware_bridge.boards.default_model`). The encoder is
streamed (only each hop's new frames) when the model's hop is a multiple of its temporal
strides, windowed otherwise or with ``--no-stream``; ``--hop H`` decodes every H frames instead
of the model's own hop (shorter only; for latency measurements).
``flash --board B`` programs a real board through pyocd, or boots an emulated one in QEMU,
checks the HELLO handshake and keeps it running (``--check``: handshake, PING, then stop).
``play`` streams a clip (or a video) to a board booted here or given by ``--port`` and plays
the events on ``--midi-out`` (:mod:`firmware_bridge.player`; the build is reused when
no input changed, :mod:`firmware_bridge.boards.build_cache`). Without ``--model`` it plays the
board class's live student (4-frame hop, streamed encoder; ``Board.live_student``), or with
``--offline`` its 1-s-hop student; ``--playout auto`` (default) plays live for hops up to
0.25 s and steady for longer ones. It then reports the motion-to-sound
latency per note-on, measured and estimated for 216 MHz (:mod:`firmware_bridge.player.budget`;
``--json``: the figures as JSON on stdout); ``--latency`` is 'auto' (one hop + a margin from the
measured answer delays) or a fixed playout latency in seconds. ``--playout live`` hands each
event over as soon as its hop's answer is in, at ``max(arrival, its time + L)`` with ``L`` =
``--latency`` ('auto': the median answer delay + a safety, no hop): lower latency, notes of a
hop moved against each other by up to a hop (the report's jitter); ``steady`` keeps the rhythm
exactly.
A ``.mid``/``.wav`` is written on the performance's timeline in both modes.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from firmware_bridge.player import PlayTarget

DEFAULT_OUT = Path("out") / "firmware"


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands."""
    from firmware_bridge.boards.registry import BOARDS, DEFAULT_BOARD

    boards = sorted(BOARDS)
    p = sub.add_parser("build", help="build the firmware for a board (firmware.elf + size.json)")
    p.add_argument("--board", default=DEFAULT_BOARD, choices=boards)
    _model_args(p)
    p.add_argument("--out", type=Path, default=None, help=f"default {DEFAULT_OUT}/BOARD")
    p.set_defaults(func=_build)

    p = sub.add_parser("flash", help="flash a real board (pyocd) or boot an emulated one (QEMU)")
    p.add_argument("--board", default=DEFAULT_BOARD, choices=boards)
    _model_args(p)
    p.add_argument("--elf", type=Path, default=None, help="flash this image instead of building")
    p.add_argument("--out", type=Path, default=None, help=f"default {DEFAULT_OUT}/BOARD")
    p.add_argument("--probe", default=None, help="pyocd probe unique id (real boards)")
    p.add_argument("--target", default=None, help="pyocd target override (real boards)")
    p.add_argument("--check", action="store_true", help="QEMU: handshake, PING, then stop")
    p.set_defaults(func=_flash)

    p = sub.add_parser("play", help="stream keypoints to a board and play its MIDI events")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--board", default=None, choices=boards,
                       help=f"emulated board booted here (default {DEFAULT_BOARD})")
    where.add_argument("--port", default=None, help="serial URL of a running board")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--keypoints", type=Path, help="keypoint clip (.npz)")
    what.add_argument("--video", type=Path, help="video file (needs make setup-video)")
    what.add_argument("--camera", type=int, metavar="N",
                      help="live camera index N, at its own frame rate (needs make setup-video)")
    p.add_argument("--midi-out", required=True,
                   help="PORTNAME, din:URL, FILE.mid or FILE.wav")
    _model_args(p)
    p.add_argument("--no-pace", action="store_true", help="stream as fast as possible")
    p.add_argument("--latency", type=_latency, default=None, metavar="auto|SECONDS",
                   help="playout latency: 'auto' (default: one hop + a margin raised from the "
                        "board's measured answer delays: their 95th percentile + a small safety; "
                        "live playout: their median + the safety, no hop) or a fixed latency in "
                        "s (steady: below one hop, most events play late; live: L)")
    p.add_argument("--offline", action="store_true",
                   help="the offline mode: the board class's 1-s-hop student (best notes for a "
                        "recording, ~1.2 s behind the motion) instead of its 4-frame-hop live "
                        "student, the default where the class has one")
    p.add_argument("--playout", choices=("auto", "steady", "live"), default="auto",
                   help="auto (default): live for hops up to 0.25 s, else steady; steady: every "
                        "event one hop + margin after its time, the rhythm kept exactly; live: "
                        "each event as soon as its hop's answer is in, at max(arrival, its time "
                        "+ L), L = --latency, in time order (lower latency; notes of a hop move "
                        "against each other by up to a hop; a .mid/.wav keeps the performance's "
                        "timing either way)")
    p.add_argument("--json", action="store_true",
                   help="print the run's figures (motion-to-sound latency median, p95, budget, "
                        "the 216 MHz estimate) as JSON on stdout; the report goes to stderr")
    p.add_argument("--out", type=Path, default=None, help=f"build folder, default {DEFAULT_OUT}/BOARD")
    p.set_defaults(func=_play)


def _latency(text: str) -> float | None:
    """``--latency``: 'auto' (None) or seconds."""
    from firmware_bridge.errors import BridgeError
    from firmware_bridge.player.cli import parse_latency

    try:
        return parse_latency(text)
    except BridgeError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _model_args(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--model", type=Path, default=None,
                   help="export folder (encoder.tflite + decoder_step.tflite + config.json) or a "
                        "folder of model-hook C sources; default: the shipped student's export")
    g.add_argument("--no-model", action="store_true", help="the no-model build (model_none.c)")
    p.add_argument("--runtime", choices=("c", "tflm"), default="c",
                   help="what runs the model: c = our generated C (default), tflm = TensorFlow "
                        "Lite Micro + CMSIS-NN built from the pinned sources (the peer)")
    p.add_argument("--no-stream", action="store_true",
                   help="keep the windowed encoder (the whole window every hop) even when the "
                        "model's hop is a multiple of the encoder's strides, where the firmware "
                        "streams it by default (only the hop's new frames)")
    p.add_argument("--hop", type=int, default=None, metavar="H",
                   help="decode every H frames instead of the model's own hop (shorter only: "
                        "for latency measurements; a model trained for a longer hop decodes "
                        "worse)")


def library_progress():  # type: ignore[no-untyped-def]
    """A progress(done, total) callback drawing a bar while the TFLM library compiles."""
    import sys

    from tqdm import tqdm

    bar = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc="TFLite Micro + CMSIS-NN", unit="file", file=sys.stderr)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def resolve_model(args: argparse.Namespace, *, live: bool = False) -> Path | None:
    """The model folder a build uses: --model, None for --no-model, else the shipped student
    of the board's class (the STM32F746 class's when no board is named); ``live`` (``play``
    without ``--offline``): the class's short-hop live student where it has one."""
    if getattr(args, "no_model", False):
        return None
    if args.model is not None:
        return _hop_override(args, args.model)
    from firmware_bridge.boards.default_model import default_export
    from firmware_bridge.boards.registry import DEFAULT_BOARD, get_board

    board = get_board(getattr(args, "board", None) or DEFAULT_BOARD)
    student = board.live_student if live and board.live_student else board.student
    model = default_export(student=student)
    print(f"model      {model.description}")
    return _hop_override(args, model.export_dir)


def _hop_override(args: argparse.Namespace, export: Path) -> Path:
    """``export``, or its copy decoding every ``--hop`` frames."""
    if getattr(args, "hop", None) is None:
        return export
    from firmware_bridge.boards.default_model import with_hop

    out = with_hop(export, args.hop)
    print(f"hop        {args.hop} frames (--hop; the model was trained for its own): {out}")
    return out


def _out_dir(args: argparse.Namespace) -> Path:
    if args.out is not None:
        return args.out
    runtime = getattr(args, "runtime", "c")
    return DEFAULT_OUT / (args.board if runtime == "c" else f"{args.board}-{runtime}")


def print_size(result) -> None:  # type: ignore[no-untyped-def]
    """The size report of a build, one line per figure."""
    s = result.size
    kib = 1024
    print(f"board      {s.board}  ({result.board.cpu})")
    print(f"model      {s.model or 'none (model_none.c)'}")
    print(f"flash      {s.flash_bytes / kib:8.1f} KiB of {s.flash_budget / kib:.0f} KiB")
    print(f"SRAM       {s.sram_bytes / kib:8.1f} KiB of {s.sram_budget / kib:.0f} KiB  "
          f"(static {s.static_sram_bytes / kib:.1f} KiB + stack {s.stack_reserved_bytes / kib:.1f}"
          f" KiB)")  # fmt: skip
    print(f"  arena    {s.arena_bytes / kib:8.1f} KiB")
    print(f"  persist  {s.persistent_bytes / kib:8.1f} KiB")
    if s.stream_note:
        print(f"encoder    {s.stream_note}")
    if s.stack_bounded:
        print(f"stack      bound {s.stack_bound_bytes} B via {' -> '.join(s.stack_path)}")
    else:
        print(f"stack      {s.stack_reserved_bytes} B reserved, no static bound")
    print(f"wrote      {result.elf}, {result.bin.name}, {result.size_json.name}")


def _build(args: argparse.Namespace) -> int:
    from firmware_bridge.build import build_firmware

    result = build_firmware(args.board, model_dir=resolve_model(args), out_dir=_out_dir(args),
                            runtime=args.runtime, progress=library_progress(),
                            stream=not args.no_stream)
    print_size(result)
    return 0


def _flash(args: argparse.Namespace) -> int:
    from firmware_bridge.boards.registry import get_board
    from firmware_bridge.build import build_firmware

    board = get_board(args.board)
    elf = args.elf
    if elf is None:
        result = build_firmware(board, model_dir=resolve_model(args), out_dir=_out_dir(args),
                                runtime=args.runtime, progress=library_progress(),
                                stream=not args.no_stream)
        print_size(result)
        elf = result.elf
    if not board.emulated:
        from firmware_bridge.boards.pyocd_flash import flash_elf

        flash_elf(board, elf, probe_id=args.probe, target=args.target)
        print(f"flashed {elf} onto {board.name}; host link: the ST-LINK virtual COM port")
        return 0
    return _boot_qemu(board, elf, check=args.check)


def _boot_qemu(board, elf: Path, *, check: bool) -> int:  # type: ignore[no-untyped-def]
    from firmware_bridge.boards.console import BoardConsole
    from firmware_bridge.boards.qemu import QemuBoard
    from firmware_bridge.protocol import messages as m

    with QemuBoard(board, elf, din="tcp") as q:
        with BoardConsole(q.url) as c:
            hello = c.expect(m.Hello, 20)
            c.send(m.Ping(b"foley-edge"))
            c.expect(m.Pong)
        print(f"booted {hello.board} (qemu-system-arm pid {q.pid}): firmware {hello.fw_version}, "
              f"protocol {hello.protocol_version}, model 0x{hello.model_hash:08X}, "
              f"hop {hello.hop}/{hello.context_frames} frames at {hello.fps:g} fps")  # fmt: skip
        print(f"host link  {q.url}")
        print(f"DIN MIDI   {q.din_url}")
        if check:
            return 0
        print("running; Ctrl-C stops the emulator")
        while q.returncode() is None:
            time.sleep(0.5)
        print(f"qemu-system-arm exited with status {q.returncode()}")
    return 0


def _play(args: argparse.Namespace) -> int:
    import contextlib
    import json
    import sys

    from firmware_bridge.player import PlaySettings, play
    from firmware_bridge.player.cli import StatusLine, frame_source, play_json, summary

    report = sys.stderr if args.json else sys.stdout  # --json: stdout holds the JSON alone
    with contextlib.redirect_stdout(report):
        target = _play_target(args)
    settings = PlaySettings(pace=not args.no_pace, latency_s=args.latency, playout=args.playout)
    status = StatusLine(paced=settings.pace)
    try:
        res = play(frame_source(args.keypoints, _video_or_camera(args), pace=settings.pace), args.midi_out,
                   target, settings, on_status=status.update)
    finally:
        status.close()
    print(summary(res), file=report)
    print(f"wrote      {args.midi_out}", file=report)
    if args.json:
        print(json.dumps(play_json(res), indent=1))
    return 0


def _play_target(args: argparse.Namespace) -> PlayTarget:
    """The device ``play`` streams to: ``--port``, or the board built (or reused) and booted."""
    from firmware_bridge.boards.build_cache import cached_build
    from firmware_bridge.boards.registry import DEFAULT_BOARD, get_board
    from firmware_bridge.player import PlayTarget

    if args.port is not None:
        return PlayTarget(url=args.port)
    args.board = args.board or DEFAULT_BOARD
    result, reused = cached_build(args.board, model_dir=resolve_model(args, live=not args.offline),
                                  out_dir=_out_dir(args), runtime=args.runtime,
                                  progress=library_progress(), stream=not args.no_stream)
    print_size(result)
    if reused:
        print("           (reused: no input of this build changed)")
    return PlayTarget(board=get_board(args.board), elf=result.elf, din="none")


def _video_or_camera(args: argparse.Namespace) -> Path | None:
    """The video source of ``play``: a file, or a camera index (MediaPipe opens both)."""
    return Path(str(args.camera)) if args.camera is not None else args.video
