"""foley-edge midi encode|decode|show|score: MIDI file <-> event tokens, listings, piano rolls,
and a recording scored against a reference (onset F1 with pitch, onset-only F1)."""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``midi`` and its sub-commands."""
    p = sub.add_parser("midi", help="MIDI file <-> event tokens, readable listing, piano roll")
    msub = p.add_subparsers(dest="midi_command", metavar="ACTION", required=True)

    enc = msub.add_parser("encode", help="MIDI file -> int16 token array (.npy)")
    enc.add_argument("input", type=Path, help="a .mid file")
    enc.add_argument("--out", type=Path, required=True, help="tokens .npy to write")
    enc.add_argument("--instrument", type=int, default=None, help="encode only this instrument")
    enc.add_argument("--sustain", action="store_true", help="lengthen notes under the pedal")
    enc.set_defaults(func=_encode)

    dec = msub.add_parser("decode", help="token array (.npy) -> MIDI file")
    dec.add_argument("input", type=Path, help="a tokens .npy (1-D integers)")
    dec.add_argument("--out", type=Path, required=True, help=".mid to write")
    dec.add_argument("--program", type=int, default=0, help="General MIDI program (0 = piano)")
    dec.set_defaults(func=_decode)

    show = msub.add_parser("show", help="readable listing of a .mid or tokens .npy")
    show.add_argument("input", type=Path, help="a .mid file or a tokens .npy")
    show.add_argument("--plot", type=Path, default=None, help="also draw a piano roll PNG here")
    show.add_argument("--limit", type=int, default=200, help="list at most this many tokens")
    show.set_defaults(func=_show)

    score = msub.add_parser("score", help="notes of a .mid against a reference: onset F1 with "
                                          "pitch and onset-only (mir_eval, 50 ms)")
    score.add_argument("input", type=Path, help="the .mid to score (e.g. play --midi-out X.mid)")
    score.add_argument("--ref", type=Path, required=True,
                       help="reference: a .mid, or a clip .npz (its own MIDI)")
    score.add_argument("--until", type=float, default=None,
                       help="score notes with onsets before this time (s); default: the clip's "
                            "length for a clip, else everything")
    score.add_argument("--json", action="store_true", help="print the figures as JSON")
    score.set_defaults(func=_score)


def _encode(args: argparse.Namespace) -> int:
    import numpy as np

    from edge.data.clip import write_atomic
    from edge.midi.codec import encode
    from edge.midi.show import report_text

    enc = encode(args.input, instrument=args.instrument, sustain=args.sustain)
    buf = io.BytesIO()
    np.save(buf, enc.tokens)
    write_atomic(args.out, buf.getvalue())
    print(report_text(enc.report))
    print(f"wrote {args.out} ({len(enc.tokens)} tokens)")
    return 0


def _load_tokens(path: Path) -> np.ndarray:
    """Read a 1-D integer token array from ``.npy``; :class:`MidiError` if it is not one."""
    import numpy as np

    from edge.midi import MidiError

    if not path.exists():
        raise MidiError(f"{path}: no such token file")
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise MidiError(f"{path}: not a readable .npy token array ({e})") from e
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise MidiError(
            f"{path}: expected a 1-D integer token array, found {arr.dtype} {list(arr.shape)}"
        )
    return arr


def _decode(args: argparse.Namespace) -> int:
    from edge.midi.codec import decode, write_midi

    tokens = _load_tokens(args.input)
    pm = decode(tokens, program=args.program)
    write_midi(pm, args.out)
    n = len(pm.instruments[0].notes)
    print(f"wrote {args.out} ({n} notes, {pm.get_end_time():.2f} s)")
    return 0


def _show(args: argparse.Namespace) -> int:
    from edge.midi.codec import decode, encode
    from edge.midi.notes import Note
    from edge.midi.reader import read_midi
    from edge.midi.show import content_summary, plot_piano_roll, report_text, token_listing

    if args.input.suffix.lower() == ".npy":
        tokens = _load_tokens(args.input)
        inst = decode(tokens).instruments[0]
        notes = [Note(n.pitch, n.start, n.end, n.velocity) for n in inst.notes]
        print(f"{args.input}: {len(tokens)} tokens, {len(notes)} notes")
    else:
        content = read_midi(args.input)
        print(content_summary(content))
        enc = encode(args.input)
        print(report_text(enc.report))
        tokens, notes = enc.tokens, list(enc.notes)
    print(token_listing(tokens, limit=args.limit))
    if args.plot is not None:
        plot_piano_roll(notes, args.plot, title=f"{args.input.name}: {len(notes)} notes")
        print(f"wrote {args.plot}")
    return 0


def _read_midi(path: Path) -> object:
    """A PrettyMIDI of ``path``; :class:`MidiError` naming the file when it is not MIDI."""
    import pretty_midi

    from edge.midi import MidiError

    try:
        return pretty_midi.PrettyMIDI(str(path))
    except (OSError, ValueError, EOFError, IndexError, KeyError) as e:
        raise MidiError(f"{path}: not a readable MIDI file ({e})") from e


def _reference(path: Path) -> tuple[object, float | None]:
    """(PrettyMIDI, length in s or None) of a reference .mid or clip .npz."""
    if path.suffix == ".npz":
        import pretty_midi

        from edge.data.clip import load_clip

        clip = load_clip(path)
        return pretty_midi.PrettyMIDI(io.BytesIO(clip.midi)), len(clip.keypoints) / clip.fps
    return _read_midi(path), None


def _score(args: argparse.Namespace) -> int:
    import json

    from edge.model.evaluate import note_arrays, score_notes

    ref, length = _reference(args.ref)
    until = args.until if args.until is not None else length
    figures = score_notes(note_arrays(ref, until), note_arrays(_read_midi(args.input), until))
    if args.json:
        print(json.dumps(figures | {"until_s": until}, indent=1))
        return 0
    span = "all notes" if until is None else f"onsets before {until:.2f} s"
    print(f"{args.input} vs {args.ref} ({span}): {figures['est_notes']} notes vs "
          f"{figures['ref_notes']}; onset F1 with pitch {figures['onset_f1']:.3f} (precision "
          f"{figures['precision']:.3f}, recall {figures['recall']:.3f}), onset-only F1 "
          f"{figures['onset_only_f1']:.3f}")
    return 0
