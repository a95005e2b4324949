"""A .wav sink: collects MIDI like the .mid sink, renders it with FluidSynth at close.

Rendering runs the Debian ``fluidsynth`` command offline::

    fluidsynth -ni -F out.wav -r 44100 SOUNDFONT in.mid

with the General MIDI soundfont from ``/usr/share/sounds/sf2/`` (Debian
``fluid-soundfont-gm``) unless one is given. The .wav appears atomically: FluidSynth writes a
temporary file next to it, which is renamed once the render succeeded. A missing ``fluidsynth``
or soundfont is reported when the sink opens, before any streaming starts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from edge.data.clip import write_atomic
from firmware_bridge.errors import SinkError
from firmware_bridge.playout import Clock
from firmware_bridge.sinks.midifile import MidiFileSink, midi_file_bytes

SAMPLE_RATE = 44100
SOUNDFONT_DIRS = (Path("/usr/share/sounds/sf2"), Path("/usr/share/soundfonts"))
PREFERRED_SOUNDFONTS = ("default-GM.sf2", "FluidR3_GM.sf2", "TimGM6mb.sf2")
DEBIAN_HINT = "install the Debian packages: apt-get install fluidsynth fluid-soundfont-gm"
RENDER_TIMEOUT_S = 600


def find_soundfont() -> Path:
    """The default General MIDI soundfont: a preferred name in a known folder, else any .sf2."""
    for folder in SOUNDFONT_DIRS:
        for name in PREFERRED_SOUNDFONTS:
            if (folder / name).is_file():
                return folder / name
    for folder in SOUNDFONT_DIRS:
        found = sorted(folder.glob("*.sf2")) if folder.is_dir() else []
        if found:
            return found[0]
    dirs = ", ".join(str(d) for d in SOUNDFONT_DIRS)
    raise SinkError(f"wav sink: no .sf2 soundfont found in {dirs}; {DEBIAN_HINT}")


def _check_soundfont(path: Path) -> None:
    """Raise :class:`SinkError` unless ``path`` is a RIFF ``sfbk`` file (FluidSynth renders
    silence, exit 0, from anything else)."""
    try:
        with path.open("rb") as f:
            head = f.read(12)
    except OSError as e:
        raise SinkError(f"wav sink: cannot read soundfont {path} ({e}); {DEBIAN_HINT}") from e
    if head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise SinkError(
            f"wav sink: {path} is not a SoundFont 2 file: expected RIFF/sfbk header, found {head!r}"
        )


class WavSink(MidiFileSink):
    """Collects messages with their clock times and renders a .wav with FluidSynth at close."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Clock | None = None,
        soundfont: str | os.PathLike[str] | None = None,
        fluidsynth: str = "fluidsynth",
        sample_rate: int = SAMPLE_RATE,
    ) -> None:
        self._fluidsynth_cmd = fluidsynth
        self._soundfont_arg = soundfont
        self.sample_rate = sample_rate  # Hz of the rendered .wav
        super().__init__(path, clock=clock)

    def _open(self) -> None:
        super()._open()
        exe = shutil.which(self._fluidsynth_cmd)
        if exe is None:
            raise SinkError(f"wav sink: {self._fluidsynth_cmd!r} not found on PATH; {DEBIAN_HINT}")
        self._fluidsynth = exe
        if self._soundfont_arg is None:
            self.soundfont = find_soundfont()
        else:
            self.soundfont = Path(self._soundfont_arg)
        _check_soundfont(self.soundfont)

    def _close(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="foley-edge-wav-") as tmp:
            mid = Path(tmp) / "in.mid"
            write_atomic(mid, midi_file_bytes(self._events))
            fd, out = tempfile.mkstemp(
                prefix=f".{self.path.name}.", suffix=".tmp.wav", dir=self.path.parent
            )
            os.close(fd)
            try:
                self._render(mid, Path(out))
                os.replace(out, self.path)
            finally:
                Path(out).unlink(missing_ok=True)

    def _render(self, mid: Path, out: Path) -> None:
        cmd = [
            self._fluidsynth, "-ni", "-F", str(out), "-r", str(self.sample_rate),
            str(self.soundfont), str(mid),
        ]  # fmt: skip
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, timeout=RENDER_TIMEOUT_S, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise SinkError(f"{self.path}: fluidsynth failed to run ({e})") from e
        if done.returncode != 0 or out.stat().st_size <= 44:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise SinkError(
                f"{self.path}: fluidsynth render failed (exit {done.returncode}, "
                f"{out.stat().st_size} bytes written): {' | '.join(tail)}"
            )
