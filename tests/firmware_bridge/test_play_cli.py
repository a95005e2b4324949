"""The board path as a user runs it: default model, ``foley-edge demo``, ``foley-edge play``.

One module-scoped export of the default model (:func:`default_export` into out/cache: the
shipped student when ``edge/model/shipped/student/`` holds one, else the untrained stand-in —
the test says which) feeds every test: the demo end to end (files valid, numbers sane, second
run reuses the cached build), ``play --keypoints`` through the CLI (its .mid equals the host
reference's notes), ``play --video`` (issue #8: valid MIDI), and a QEMU killed and restarted
mid-stream (the sink is panicked, streaming carries on in a new device session).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import mido
import pytest

pytest.importorskip("tensorflow")

from edge.data.dataset import read_manifest  # noqa: E402
from edge.model.shipped import SHIPPED_DIR, USED_PIECES  # noqa: E402
from firmware_bridge.boards.default_model import (  # noqa: E402
    DEFAULT_CACHE,
    DEMO_CLIP,
    DefaultModel,
    default_export,
)
from firmware_bridge.boards.model_sources import is_export_folder  # noqa: E402
from foley_edge.cli import main as cli_main  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.firmware]
REPO = Path(__file__).resolve().parents[2]
FOOTAGE = REPO / ".venv-video" / "footage" / "pose2sim_cam01.mp4"
VIDEO_PYTHON = REPO / ".venv-video" / "bin" / "python"


@pytest.fixture(scope="module")
def cache() -> Path:
    """The project's cache (out/cache under the repo, as `make demo` uses): it is keyed by
    content hash, so sharing it is safe, and a fresh checkout pays the export once."""
    return REPO / DEFAULT_CACHE


@pytest.fixture(scope="module")
def model(cache: Path) -> DefaultModel:
    m = default_export(cache)
    which = "SHIPPED student" if m.trained else "UNTRAINED stand-in (no shipped student)"
    print(f"\n[default model under test: {which}: {m.export_dir}]", file=sys.stderr)
    return m


def _hop_frames(export: Path) -> int:
    from edge.model.config import load_config

    return load_config(export / "config.json").hop_frames


def _notes(path: Path) -> list[tuple[str, int, float]]:
    """(type, note, absolute seconds) of every note message of a .mid, in file order."""
    t, out = 0.0, []
    for msg in mido.MidiFile(path):
        t += msg.time
        if msg.type in ("note_on", "note_off"):
            kind = "note_off" if msg.type == "note_off" or msg.velocity == 0 else "note_on"
            out.append((kind, msg.note, t))
    return out


def test_default_export_is_whichever_model_is_present(model: DefaultModel, cache: Path) -> None:
    shipped = (SHIPPED_DIR / "student" / "model.weights.h5").is_file()
    assert model.trained == shipped
    assert is_export_folder(model.export_dir) and model.export_dir.parent == cache.resolve()
    assert ("UNTRAINED" in model.description) == (not shipped)
    stamp = (model.export_dir / "encoder.tflite").stat().st_mtime_ns
    again = default_export(cache)  # cached by content hash: same folder, not re-exported
    assert again == model and (model.export_dir / "encoder.tflite").stat().st_mtime_ns == stamp
    if shipped:  # checked on pieces none of the shipped models learnt from, on enough windows
        report = json.loads((model.export_dir / "report.json").read_text())
        data = Path(report["data"])
        assert data.parent == cache.resolve() and data.name.startswith("held-out-")
        used = set(json.loads(USED_PIECES.read_text())["pieces"])
        performed = {p for s in read_manifest(data)["splits"].values() for p in s["pieces"]}
        assert len(performed) == 50 and not performed & used
        assert report["metrics"]["greedy_windows"] == 48 and report["metrics"]["forced_steps"] > 1000
        assert report["status"] == "PASSED", report["failures"]  # issue #17: no missed target


def test_demo_end_to_end(model: DefaultModel, cache: Path, tmp_path: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    argv = ["demo", "--out", str(out), "--cache", str(cache), "--no-pace"]
    assert cli_main(argv) == 0
    text = capsys.readouterr().out
    assert ("UNTRAINED" in text) == (not model.trained)
    mid = mido.MidiFile(out / "demo.mid")  # mido reads it
    assert mid.length > 0 and any(m.type == "note_on" for m in mid)
    wav = (out / "demo.wav").read_bytes()
    assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE" and len(wav) > 44
    assert int.from_bytes(wav[4:8], "little") == len(wav) - 8  # a complete RIFF chunk
    assert (out / "demo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = json.loads((out / "report.json").read_text())
    n = report["numbers"]
    assert report["model"]["trained"] == model.trained
    assert n["hops"] == 176 // _hop_frames(model.export_dir)
    assert 0 < n["flash_bytes"] <= n["flash_budget"] and 0 < n["sram_bytes"] <= n["sram_budget"]
    assert n["encoder_instr_per_hop"] > n["decoder_instr_per_token"] > 0
    assert n["rtf"] == pytest.approx((n["encoder_instr_per_hop"] * n["hops_per_s"]
                                      + n["decoder_instr_per_token"] * 85) / 216e6)
    for line in ("flash", "SRAM", "arena", "encoder", "decoder", "RTF", "latency"):
        assert f"\n{line}" in text or f"  {line}" in text, line
    first = _notes(out / "demo.mid")
    assert cli_main(argv) == 0  # the second run reuses the export and the firmware build
    again = json.loads((out / "report.json").read_text())
    assert again["firmware"]["reused_cached_build"]
    assert _notes(out / "demo.mid") == first  # same image, same clip: the same music


def test_play_cli_keypoints_writes_the_boards_music(model: DefaultModel, cache: Path,
                                                   tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "play.mid"
    rc = cli_main(["play", "--board", "qemu-m7", "--keypoints", str(DEMO_CLIP), "--midi-out",
                   str(out), "--no-pace", "--model", str(model.export_dir),
                   "--out", str(cache / "firmware-qemu-m7")])
    assert rc == 0
    text = capsys.readouterr().out
    hops = 176 // _hop_frames(model.export_dir)
    tokens = int(text.split(f"176 frames, {hops} hops, ")[1].split(" tokens")[0])
    assert tokens > 0 and "encoder" in text and "decoder" in text and "latency" in text
    notes = _notes(out)  # mido reads it
    assert notes and sum(k == "note_on" for k, _, _ in notes) == sum(
        k == "note_off" for k, _, _ in notes)  # every note that starts also ends


def test_play_json_times_every_note_on_of_a_real_time_run(model: DefaultModel, cache: Path,
                                                          tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """`play --json` paced (issue #20 part 3): motion-to-sound for every note-on the sink got,
    measured and estimated, each note's budget summing to its latency (2 hops of the clip)."""
    from edge.data.clip import Clip, load_clip, save_clip

    hop = _hop_frames(model.export_dir)
    clip = load_clip(DEMO_CLIP)
    short = save_clip(Clip(clip.keypoints[:2 * hop], clip.fps), tmp_path / "short.npz")
    out = tmp_path / "short.mid"
    capsys.readouterr()
    rc = cli_main(["play", "--board", "qemu-m7", "--keypoints", str(short), "--midi-out",
                   str(out), "--json", "--model", str(model.export_dir),
                   "--out", str(cache / "firmware-qemu-m7")])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)  # stdout holds the JSON alone
    mts = doc["motion_to_sound"]
    assert doc["stream"]["real_time"] and doc["stream"]["hops"] == 2 and mts["margin"] == "auto"
    assert len(doc["answer_delays_s"]) == 2 and mts["playout_latency_s"] >= mts["hop_s"]
    ons = sum(k == "note_on" for k, _, _ in _notes(out))
    assert ons > 0 and mts["measured"]["notes"] == mts["estimated"]["notes"] == ons
    for basis in ("measured", "estimated"):
        fig = mts[basis]
        assert fig["median_s"] <= fig["p95_s"]
        for note in fig["per_note_s"]:
            parts = [note[k] for k in ("hop_wait_s", "encoder_s", "decoder_s", "serial_s",
                                       "playout_s")]
            assert sum(parts) == pytest.approx(note["total_s"])
            assert min(parts[1:]) >= 0.0
    assert all(n["serial_s"] == 0.0 for n in mts["measured"]["per_note_s"])  # QEMU: a socket


def test_recorded_mid_is_on_the_performance_timeline(model: DefaultModel, cache: Path,
                                                     tmp_path: Path, reference_midi) -> None:  # noqa: ANN001
    """`play --midi-out X.mid` writes the board's notes at the time of the frames that made
    them (issue #17: they used to start at the file's first message, 2 s early): the same
    onsets as the host reference decoding, to the file's tick (1/960 s)."""
    out = tmp_path / "timeline.mid"
    rc = cli_main(["play", "--board", "qemu-m7", "--keypoints", str(DEMO_CLIP), "--midi-out",
                   str(out), "--no-pace", "--model", str(model.export_dir),
                   "--out", str(cache / "firmware-qemu-m7")])
    assert rc == 0
    import pretty_midi

    def onsets(pm) -> list[tuple[int, float]]:  # noqa: ANN001 - PrettyMIDI
        return sorted((n.pitch, n.start) for i in pm.instruments for n in i.notes)

    got, want = onsets(pretty_midi.PrettyMIDI(str(out))), onsets(reference_midi)
    assert want and len(got) == len(want)
    assert [p for p, _ in got] == [p for p, _ in want]
    assert max(abs(a - b) for (_, a), (_, b) in zip(got, want, strict=True)) < 0.6e-3


def test_play_runtime_tflm_plays_exactly_the_notes_of_runtime_c(
        model: DefaultModel, cache: Path, tmp_path: Path) -> None:
    """`play --runtime tflm` (TFLite Micro + CMSIS-NN on the board) == `--runtime c`."""
    from firmware_bridge.tflm.sources import PeerUnavailable, locate_sources

    try:
        locate_sources()
    except PeerUnavailable as e:
        pytest.skip(f"no TFLite Micro sources here: {e}")
    notes = {}
    for runtime in ("c", "tflm"):
        out = tmp_path / f"{runtime}.mid"
        rc = cli_main(["play", "--board", "qemu-m7", "--keypoints", str(DEMO_CLIP), "--midi-out",
                       str(out), "--no-pace", "--model", str(model.export_dir), "--runtime",
                       runtime, "--out", str(cache / f"firmware-qemu-m7-{runtime}")])
        assert rc == 0
        notes[runtime] = _notes(out)
    assert notes["c"] and notes["tflm"] == notes["c"]


@pytest.fixture(scope="module")
def reference_decode(model: DefaultModel):  # noqa: ANN201 - export.host_decode.ClipDecode
    """The host reference decoding (TFLM) of the demo clip."""
    from edge.data.clip import load_clip
    from export.host_decode import decode_clip, load_pair

    cfg, enc, step = load_pair(model.export_dir, "tflm")
    return decode_clip(cfg, enc, step, load_clip(DEMO_CLIP).keypoints)


@pytest.fixture(scope="module")
def reference(reference_decode) -> tuple[tuple[int, ...], ...]:  # noqa: ANN001
    """Host reference tokens per hop (TFLM) for the demo clip."""
    return reference_decode.hop_tokens


@pytest.fixture(scope="module")
def reference_midi(reference_decode):  # noqa: ANN001, ANN201 - pretty_midi.PrettyMIDI
    """The host reference decoding's notes, each hop at its start time."""
    return reference_decode.midi


def test_board_tokens_equal_host_reference(model: DefaultModel, cache: Path,
                                           reference) -> None:  # noqa: ANN001
    """The default build (the demo's, DSP kernels where the core has them) == TFLM."""
    from firmware_bridge.boards.build_cache import cached_build
    from firmware_bridge.boards.registry import get_board
    from firmware_bridge.player import PlaySettings, PlayTarget, play
    from firmware_bridge.player.cli import frame_source
    from firmware_bridge.sinks import MemorySink

    built, _ = cached_build("qemu-m7", model_dir=model.export_dir,
                            out_dir=cache / "firmware-qemu-m7")
    res = play(frame_source(DEMO_CLIP, None, pace=False), MemorySink(),
               PlayTarget(board=get_board("qemu-m7"), elf=built.elf, din="none"),
               PlaySettings(pace=False))
    assert len(res.tokens) == len(reference) == 176 // _hop_frames(model.export_dir)
    assert res.tokens == reference  # keypoints rounded alike on both sides, ties included


@pytest.mark.skipif(not FOOTAGE.is_file() or not VIDEO_PYTHON.is_file(),
                    reason="needs `make setup-video` (sample footage + MediaPipe environment)")
def test_play_cli_video_writes_valid_midi(model: DefaultModel, cache: Path,
                                          tmp_path: Path) -> None:
    out = tmp_path / "video.mid"
    rc = cli_main(["play", "--video", str(FOOTAGE), "--board", "qemu-m7", "--midi-out",
                   str(out), "--no-pace", "--model", str(model.export_dir),
                   "--out", str(cache / "firmware-qemu-m7")])
    assert rc == 0
    mid = mido.MidiFile(out)  # issue #8: valid MIDI
    assert mid.type in (0, 1) and mid.tracks
    ons = sum(m.type == "note_on" and m.velocity > 0 for m in mid)
    offs = sum(m.type == "note_off" or (m.type == "note_on" and m.velocity == 0) for m in mid)
    assert ons <= offs  # every note that starts also ends


def test_qemu_killed_and_restarted_mid_stream(model: DefaultModel, cache: Path,
                                              tmp_path: Path) -> None:
    from firmware_bridge.boards.build_cache import cached_build
    from firmware_bridge.boards.registry import get_board
    from firmware_bridge.player import PlaySettings, PlayTarget, play
    from firmware_bridge.sinks import MemorySink
    from firmware_bridge.sources import ClipSource

    built, _ = cached_build("qemu-m7", model_dir=model.export_dir,
                            out_dir=cache / "firmware-qemu-m7")
    hop = _hop_frames(model.export_dir)
    kill_at = 3 * hop + 5  # mid-hop, after notes have sounded
    boards, marks = [], []
    sink = MemorySink()

    def frames(clock, fps):  # noqa: ANN001, ANN202 - play's frame factory
        for f in ClipSource(DEMO_CLIP, pace=True, clock=clock):
            if f.index == kill_at:
                marks.append(len(sink.messages))
                boards[0].stop()  # SIGTERM: the board and the host link are gone
                boards[0].start()  # same port: the host reconnects to a fresh device
            yield f

    target = PlayTarget(board=get_board("qemu-m7"), elf=built.elf, workdir=tmp_path / "q")
    res = play(frames, sink, target, PlaySettings(pace=True, latency_s=0.3),
               on_boot=boards.append)
    p = res.progress
    assert p.resets == 1 and p.frames_sent == 176
    before = [h for h in res.hops if h.session == 0]
    after = [h for h in res.hops if h.session == 1]
    assert len(before) <= kill_at // hop
    base = round(after[0].start_s * 22.0)  # clip frame the new device session started at
    assert kill_at <= base <= kill_at + 1  # one write may still "succeed" into the dead socket
    assert len(after) == (176 - base) // hop  # the new session's hops all came back
    at_kill = sink.messages[marks[0]:]
    panic = next(i for i, m in enumerate(at_kill) if m.type == "control_change"
                 and m.control == 123)  # the sink was panicked at the reset ...
    assert any(m.type == "note_on" for m in sink.messages[:marks[0]])  # ... after notes played
    assert any(m.type == "note_on" for m in at_kill[panic:])  # ... and the music carried on
    assert not sink.held_notes and sink.closed
    assert os.path.exists(tmp_path / "q" / "qemu.stderr")
