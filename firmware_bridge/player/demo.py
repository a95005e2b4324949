"""The end-to-end demo behind ``make demo``: model -> firmware -> emulated board -> MIDI + WAV.

:func:`run_demo` runs, in order, each step cached where it can be:

1. model: :func:`firmware_bridge.boards.default_model.default_export` — the shipped student's
   int8 export, or the untrained stand-in when the checkout has no shipped student (said
   loudly), cached under ``cache/`` by content hash;
2. firmware: :func:`firmware_bridge.boards.build_cache.cached_build` for the board (default
   qemu-m7) into ``cache/firmware-BOARD``, reused when no input changed;
3. stream: QEMU boots the image, the bundled clip streams through
   :func:`firmware_bridge.player.play` and one pass feeds both ``demo.mid`` and ``demo.wav``
   (:class:`TeeSink`; FluidSynth renders the .wav at close);
4. picture and numbers: ``demo.png`` (skeleton, ground-truth and board piano rolls),
   ``report.json`` (:class:`firmware_bridge.player.report.BoardNumbers`, the motion-to-sound
   latency and its budget, :mod:`firmware_bridge.player.budget`, and the model used).

No training and no network: everything comes from the checkout and the system packages.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from edge.data.clip import load_clip, write_atomic
from firmware_bridge.boards.build_cache import cached_build
from firmware_bridge.boards.default_model import DEFAULT_CACHE, DEMO_CLIP, DefaultModel
from firmware_bridge.boards.registry import DEFAULT_BOARD, get_board
from firmware_bridge.build import BuildResult
from firmware_bridge.player.budget import motion_to_sound, motion_to_sound_dict
from firmware_bridge.player.cli import frame_source
from firmware_bridge.player.picture import save_demo_png
from firmware_bridge.player.report import BoardNumbers, board_numbers
from firmware_bridge.player.session import PlaySettings, PlayTarget, play
from firmware_bridge.player.stream import StreamProgress, StreamResult
from firmware_bridge.player.tee import TeeSink
from firmware_bridge.playout import Clock
from firmware_bridge.sinks import MidiFileSink, MidiSink, WavSink

STEPS = ("model", "firmware", "stream", "picture")


@dataclass(frozen=True)
class DemoSettings:
    """What the demo runs and where it writes."""

    out: Path  # folder for demo.mid, demo.wav, demo.png, report.json
    board: str = DEFAULT_BOARD  # emulated board to build for and boot
    clip: Path = DEMO_CLIP  # keypoint clip to stream
    cache: Path = DEFAULT_CACHE  # model exports and firmware builds, keyed by content
    pace: bool = True  # stream at the clip's frame rate (False: as fast as the board goes)
    latency_s: float | None = None  # playout latency (None: 'auto', one hop + AutoMargin)
    wav: bool = True  # also render demo.wav (FluidSynth)
    runtime: str = "c"  # what runs the model on the board: "c" (generated) or "tflm" (the peer)


@dataclass(frozen=True)
class DemoResult:
    """Everything one demo run produced."""

    model: DefaultModel  # the model used (shipped student or untrained stand-in)
    build: BuildResult  # the firmware image and its size report
    build_reused: bool  # True when the cached build was reused
    stream: StreamResult  # the board's hops, STATS and counters
    numbers: BoardNumbers  # size, instructions, RTF, latency
    files: dict[str, Path]  # "mid", "wav", "png", "json" -> path


def _sinks(out: Path, *, wav: bool) -> Callable[[Clock], MidiSink]:
    def open_both(clock: Clock) -> MidiSink:
        sinks: list[MidiSink] = [MidiFileSink(out / "demo.mid", clock=clock)]
        if wav:
            sinks.append(WavSink(out / "demo.wav", clock=clock))
        return TeeSink(sinks, name="demo.mid + demo.wav")

    return open_both


def _metrics(model: DefaultModel) -> dict[str, object]:
    """The shipped run's evaluation figures (empty for the stand-in or when absent)."""
    if not model.trained or model.run is None:
        return {}
    for name in ("eval_test.json", "metrics.json"):
        path = model.run / name
        if path.is_file():
            data = json.loads(path.read_text())
            flat = {k: v for k, v in data.items() if isinstance(v, int | float | str)}
            return {"source": str(path), **flat}
    return {}


def _report_json(res: DemoResult, metrics: dict[str, object]) -> bytes:
    doc = {
        "model": {"description": res.model.description, "trained": res.model.trained,
                  "export": str(res.model.export_dir), "metrics": metrics},
        "firmware": {"elf": str(res.build.elf), "reused_cached_build": res.build_reused},
        "numbers": asdict(res.numbers),
        "motion_to_sound": motion_to_sound_dict(motion_to_sound(res.stream), per_note=False),
        "files": {k: str(v) for k, v in res.files.items()},
    }  # fmt: skip
    return (json.dumps(doc, indent=1) + "\n").encode()


def run_demo(settings: DemoSettings, *, on_step: Callable[[str, str], None] | None = None,
             on_status: Callable[[StreamProgress], None] | None = None) -> DemoResult:
    """Run the demo (module doc); ``on_step(step, detail)`` announces each step of STEPS."""
    from firmware_bridge.boards.default_model import default_export

    step = on_step or (lambda name, detail: None)
    out = settings.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    clip = load_clip(settings.clip)  # fail on a bad clip before any slow step
    step("model", "int8 export of the board class's shipped student (cached after the first run)")
    model = default_export(settings.cache, get_board(settings.board).student)
    runtime = "" if settings.runtime == "c" else f"-{settings.runtime}"
    step("firmware", f"firmware for {settings.board}"
         + (" (TFLite Micro + CMSIS-NN)" if runtime else ""))
    built, reused = cached_build(settings.board, model_dir=model.export_dir,
                                 out_dir=Path(settings.cache) / f"firmware-{settings.board}{runtime}",
                                 runtime=settings.runtime)
    step("stream", f"booting {settings.board} in QEMU, streaming {settings.clip.name}")
    target = PlayTarget(board=get_board(settings.board), elf=built.elf, din="none")
    res = play(frame_source(settings.clip, None, pace=settings.pace),
               _sinks(out, wav=settings.wav), target,
               PlaySettings(pace=settings.pace, latency_s=settings.latency_s),
               on_status=on_status)
    step("picture", "demo.png and report.json")
    files = {"mid": out / "demo.mid", "png": out / "demo.png", "json": out / "report.json"}
    if settings.wav:
        files["wav"] = out / "demo.wav"
    title = f"{settings.clip.name} streamed to {settings.board} — model: {model.label}"
    save_demo_png(clip, res.hops, files["png"], title)
    result = DemoResult(model, built, reused, res, board_numbers(built.size, res), files)
    write_atomic(files["json"], _report_json(result, _metrics(model)))
    return result
