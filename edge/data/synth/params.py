"""Parameters of the synthetic performer: the instrument geometry and the real-world nuisance.

Every number has a documented default chosen so that the motion carries the music clearly
(a small model can learn onsets and pitch from it) while looking like pose-detector output:
a camera that is never quite the same, a body that sways, jittery joints, joints that vanish
for a frame and hands that a detector swaps now and then.
"""

from __future__ import annotations

from dataclasses import dataclass, field

INSTRUMENTS: tuple[str, ...] = ("piano", "violin")
"""Instruments the performer can play; ``mixed`` picks one per piece."""


@dataclass(frozen=True)
class PianoParams:
    """Keyboard geometry and key-stroke dynamics (image units, y grows downward)."""

    key_x0: float = 0.90  # x of A0 (MIDI 21): seen from the front, bass is on the image right
    key_x1: float = 0.10  # x of C8 (MIDI 108); 0.0092 image widths per semitone
    key_y: float = 0.58  # y of resting fingertips (the key surface)
    wrist_y: float = 0.50  # y of a resting wrist
    split_pitch: int = 60  # notes below go to the left hand, the rest to the right
    finger_step: int = 2  # semitones between neighbouring fingers of a resting hand
    depth_min: float = 0.015  # fingertip dip (image units) of a pianissimo key stroke
    depth_max: float = 0.040  # ... of a fortissimo one
    wrist_dip: float = 0.2  # the wrist drops this fraction of its deepest fingertip's dip
    attack_slow_s: float = 0.08  # descent time of a soft stroke (ends at the onset)
    attack_fast_s: float = 0.03  # descent time of a loud stroke
    release_s: float = 0.06  # lift time after the note-off
    glide_max_s: float = 0.25  # longest hand shift between two hand positions


@dataclass(frozen=True)
class ViolinParams:
    """Fingerboard geometry and bowing dynamics (image units, y grows downward)."""

    nut: tuple[float, float] = (0.80, 0.33)  # where the strings leave the scroll
    bridge: tuple[float, float] = (0.55, 0.43)  # where they rest on the body
    open_strings: tuple[int, ...] = (55, 62, 69, 76)  # G3 D4 A4 E5
    string_spread: float = 0.008  # perpendicular distance between neighbouring strings
    press_depth: float = 0.012  # how far a stopping fingertip drops onto the string
    bow_length: float = 0.30  # wrist travel from frog to tip
    bow_speed_min: float = 0.2  # bow lengths per second of a soft note
    bow_speed_max: float = 1.0  # ... of a loud note (the bow stops at frog or tip)
    string_angle_deg: float = 9.0  # bow-arm tilt between neighbouring strings
    pitch_range: tuple[int, int] = (55, 100)  # melody is folded into this range by octaves


@dataclass(frozen=True)
class NuisanceParams:
    """Real-world imperfections added after the performance is posed."""

    scale_sd: float = 0.08  # log-normal sd of the camera zoom per clip
    rotation_deg_sd: float = 4.0  # sd of the camera roll per clip (degrees)
    translate_sd: float = 0.04  # sd of the camera offset per clip (image units)
    sway_amp: float = 0.008  # amplitude of the slow body sway (image units)
    sway_hz: tuple[float, float] = (0.15, 0.5)  # range of the sway frequency
    jitter_sd: float = 0.002  # per-frame Gaussian keypoint noise, body joints
    hand_jitter_sd: float = 0.0012  # ... hand joints (detector crops are zoomed in)
    drop_prob: float = 0.01  # chance a joint is missing in a frame (confidence 0, x=y=0)
    hand_drop_rate_hz: float = 0.05  # bursts per second in which a whole hand vanishes
    swap_rate_hz: float = 0.02  # bursts per second in which left and right hands swap
    burst_frames: tuple[int, int] = (2, 8)  # length range of those bursts (frames)
    velocity_sd: float = 6.0  # MIDI velocity noise the performer adds to every note
    phrase_depth: float = 0.25  # relative loudness swell over a phrase


@dataclass(frozen=True)
class PerformerParams:
    """Everything the performer needs besides the notes and the random seed."""

    fps: float = 22.0  # frame rate of the keypoints (Foley Music's)
    tail_s: float = 1.0  # seconds of keypoints after the last note-off
    piano: PianoParams = field(default_factory=PianoParams)  # keyboard and strokes
    violin: ViolinParams = field(default_factory=ViolinParams)  # fingerboard and bow
    nuisance: NuisanceParams = field(default_factory=NuisanceParams)  # camera, noise, ...
