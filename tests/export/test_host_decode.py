"""The host decoding loop on the exported pair: litert, tflm and c agree token for token."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tflite_micro")

from test_int8_tiny import CFG, tiny_export  # noqa: E402

from edge import vocab  # noqa: E402
from export.host_decode import decode_clip, encode_window, load_pair, run_hop  # noqa: E402


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return tiny_export(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def clip(exported: tuple[Path, Path]):  # noqa: ANN201 - edge.data.clip.Clip
    from edge.data.dataset import load_split

    return load_split(exported[1].parent / "tiny_data", "test")[0]


def _valid_midi(pm) -> list[tuple[int, int, int]]:  # noqa: ANN001 - PrettyMIDI
    """(tick, note, on) of the file as mido reads it back; asserts every note-on is closed."""
    import mido

    from edge.midi.codec import midi_bytes

    f = mido.MidiFile(file=io.BytesIO(midi_bytes(pm)))
    sounding: dict[int, int] = {}
    events, tick = [], 0
    for msg in mido.merge_tracks(f.tracks):
        tick += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            assert msg.note not in sounding
            sounding[msg.note] = tick
            events.append((tick, msg.note, 1))
        elif msg.type in ("note_off", "note_on"):
            assert msg.note in sounding and tick >= sounding.pop(msg.note)
            events.append((tick, msg.note, 0))
    assert not sounding
    return events


@pytest.mark.parametrize("backend", ["litert", "tflm"])
def test_host_loop_produces_valid_midi(exported: tuple[Path, Path], clip, backend: str) -> None:  # noqa: ANN001
    cfg, enc, step = load_pair(exported[1], backend)
    assert cfg == CFG
    result = decode_clip(cfg, enc, step, clip.keypoints)
    n_hops = (clip.n_frames - CFG.hop_frames) // CFG.hop_frames + 1
    assert len(result.hop_tokens) == n_hops
    assert all(len(h) <= CFG.max_tokens and vocab.EOS not in h and vocab.SOS not in h
               for h in result.hop_tokens)
    assert result.hop_starts_s[1] - result.hop_starts_s[0] == pytest.approx(CFG.hop_seconds)
    events = _valid_midi(result.midi)
    notes = result.midi.instruments[0].notes
    assert len(notes) > 0 and len([e for e in events if e[2]]) == len(notes)
    for n in notes:  # every note starts inside the hop that produced it (+ its time shifts)
        assert 0.0 <= n.start <= clip.duration_s + 2.0


def test_litert_tflm_and_c_generate_the_same_tokens(exported: tuple[Path, Path], clip) -> None:  # noqa: ANN001
    runs = {}
    for backend in ("litert", "tflm", "c"):
        cfg, enc, step = load_pair(exported[1], backend)
        runs[backend] = decode_clip(cfg, enc, step, clip.keypoints[: 3 * CFG.hop_frames])
    assert runs["litert"].hop_tokens == runs["tflm"].hop_tokens == runs["c"].hop_tokens


def test_forced_run_feeds_the_given_tokens_and_fills_the_cache(exported: tuple[Path, Path], clip) -> None:  # noqa: ANN001
    cfg, enc, step = load_pair(exported[1], "litert")
    cross = encode_window(enc, clip.keypoints[: cfg.window_frames])
    forced = [vocab.SOS, vocab.note_on(60), vocab.time_shift(3), vocab.note_off(60)]
    run = run_hop(cfg, step, cross, forced=forced)
    assert run.tokens == tuple(forced) and run.logits.shape == (4, vocab.VOCAB_SIZE)
    assert run.logits.dtype == np.int8
    greedy = run_hop(cfg, step, cross)
    assert greedy.tokens[0] == vocab.SOS
    assert greedy.tokens[1:] == greedy.outputs[: len(greedy.tokens) - 1]  # fed back its own argmax


def test_float_reference_runs_through_the_same_loop(exported: tuple[Path, Path], clip) -> None:  # noqa: ANN001
    from edge.train.run import load_run
    from export.session import KerasSession

    cfg, fixed = load_run(exported[0], batch_size=1)
    result = decode_clip(cfg, KerasSession(fixed.encoder), KerasSession(fixed.step),
                         clip.keypoints[: 2 * CFG.hop_frames])
    assert len(result.hop_tokens) == 2
    _valid_midi(result.midi)


def test_decode_cli_writes_a_midi_file(exported: tuple[Path, Path], tmp_path: Path) -> None:
    import pretty_midi

    from foley_edge.cli import main

    clip_path = next((exported[1].parent / "tiny_data" / "test").glob("*.npz"))
    out = tmp_path / "song.mid"
    assert main(["export", "--decode", str(clip_path), "--pair", str(exported[1]),
                 "--backend", "tflm", "--midi", str(out)]) == 0
    assert out.is_file()
    assert pretty_midi.PrettyMIDI(str(out)).instruments[0].notes is not None
    assert main(["export", "--decode", str(clip_path), "--pair", str(tmp_path),
                 "--midi", str(out)]) == 2
