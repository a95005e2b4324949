"""The .mid and .wav sinks: timestamps to ticks, panic at the end, atomic writes, clear errors."""

from __future__ import annotations

import wave
from pathlib import Path

import mido
import pytest

from firmware_bridge.errors import SinkError
from firmware_bridge.playout import VirtualClock
from firmware_bridge.sinks import MidiFileSink, WavSink
from firmware_bridge.sinks.wav import find_soundfont


def play(sink: MidiFileSink, clock: VirtualClock, script: list[tuple[float, mido.Message]]) -> None:
    for t, msg in script:
        clock.sleep_until(t)
        sink.send(msg)


SCRIPT = [  # clock times; the file's time zero is the first message (10.0 s)
    (10.0, mido.Message("program_change", channel=0, program=41)),
    (10.0, mido.Message("note_on", channel=0, note=60, velocity=100)),
    (10.5, mido.Message("note_off", channel=0, note=60, velocity=0)),
    (11.25, mido.Message("note_on", channel=0, note=67, velocity=90)),
    (12.0015, mido.Message("note_on", channel=0, note=72, velocity=80)),
]


def test_mid_sink_writes_ticks_from_seconds_and_the_panic(tmp_path: Path) -> None:
    clock = VirtualClock(start=3.0)
    path = tmp_path / "out" / "take.mid"
    with MidiFileSink(path, clock=clock) as sink:
        play(sink, clock, SCRIPT)
        clock.sleep_until(13.0)
        assert not path.exists()  # written at close only
    midi = mido.MidiFile(path)
    assert midi.type == 0 and midi.ticks_per_beat == 480
    track = midi.tracks[0]
    assert track[0].is_meta and track[0].type == "set_tempo" and track[0].tempo == 500_000
    channel = [m for m in track if not m.is_meta]
    ticks = []
    tick = 0
    for m in track:
        tick += m.time
        if not m.is_meta:
            ticks.append(tick)
    # 960 ticks a second: 0, 0, 0.5 s, 1.25 s, 2.0015 s (rounds to 1921), panic at 3.0 s
    assert ticks == [0, 0, 480, 1200, 1921, 2880, 2880, 2880]
    assert [m.copy(time=0) for m in channel] == [m for _, m in SCRIPT] + [
        mido.Message("note_off", channel=0, note=67, velocity=0),
        mido.Message("note_off", channel=0, note=72, velocity=0),
        mido.Message("control_change", channel=0, control=123, value=0),
    ]
    assert midi.length == pytest.approx(3.0)  # mido reads 2880 ticks back as 3.0 s at tempo 120


def test_mid_sink_error_mid_note_still_writes_a_file_with_the_note_released(tmp_path: Path) -> None:
    clock = VirtualClock()
    path = tmp_path / "crash.mid"
    with pytest.raises(KeyboardInterrupt), MidiFileSink(path, clock=clock) as sink:
        sink.send(mido.Message("note_on", note=50, velocity=64))
        clock.advance(1.0)
        raise KeyboardInterrupt
    msgs = [m for m in mido.MidiFile(path).tracks[0] if not m.is_meta]
    assert [m.type for m in msgs] == ["note_on", "note_off", "control_change"]
    assert msgs[1].note == 50 and msgs[1].time == 960 and msgs[2].control == 123


def test_mid_sink_into_a_folder_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SinkError, match="found a folder"):
        MidiFileSink(tmp_path)


def test_wav_sink_renders_audio_atomically(tmp_path: Path) -> None:
    clock = VirtualClock()
    path = tmp_path / "take.wav"
    with WavSink(path, clock=clock) as sink:
        play(sink, clock, SCRIPT)
        clock.sleep_until(13.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.wav"]  # no temp files left
    with wave.open(str(path)) as w:
        assert w.getframerate() == 44100
        assert w.getnchannels() == 2
        seconds = w.getnframes() / w.getframerate()
        frames = w.readframes(w.getnframes())
    assert seconds >= 3.0  # 3 s of events (plus FluidSynth's release tail)
    assert any(frames)  # not silence


def test_wav_sink_without_fluidsynth_names_the_debian_packages(tmp_path: Path) -> None:
    with pytest.raises(SinkError, match="apt-get install fluidsynth fluid-soundfont-gm"):
        WavSink(tmp_path / "x.wav", fluidsynth="no-such-fluidsynth-binary")
    assert list(tmp_path.iterdir()) == []


def test_wav_sink_refuses_a_file_that_is_not_a_soundfont(tmp_path: Path) -> None:
    fake = tmp_path / "fake.sf2"
    fake.write_bytes(b"MThd\x00\x00\x00\x06" + bytes(20))
    with pytest.raises(SinkError, match="not a SoundFont 2 file: expected RIFF/sfbk"):
        WavSink(tmp_path / "x.wav", soundfont=fake)


def test_wav_sink_failed_render_leaves_no_file(tmp_path: Path) -> None:
    fails = tmp_path / "fluidsynth"
    fails.write_text("#!/bin/sh\necho 'fluidsynth: out of luck' >&2\nexit 3\n")
    fails.chmod(0o755)
    out = tmp_path / "out"
    sink = WavSink(out / "x.wav", fluidsynth=str(fails), soundfont=find_soundfont())
    sink.send(mido.Message("note_on", note=60, velocity=64))
    with pytest.raises(SinkError, match=r"exit 3.*out of luck"):
        sink.close()
    assert sink.closed
    assert list(out.iterdir()) == []
