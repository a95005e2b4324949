"""The violin performer: the bow changes direction at every onset, the left hand follows pitch.

Steps, for the melody (one note at a time):

1. String and stop. A note is played on the highest string whose open pitch is not above it;
   its stop sits at the fraction ``1 - 2**(-n/12)`` of the way from nut to bridge (``n``
   semitones above the open string) — real string geometry, so the stopping fingertip's
   position along the neck encodes the pitch. Open strings use no finger.
2. Left hand. The hand holds a position (base semitone ``b``) and moves only when a note is
   out of reach (``b+1 .. b+8``), gliding before the onset; finger ``k`` (index..pinky) stops
   semitones ``b+2k-1 .. b+2k``. The stopping fingertip drops onto its string at the onset
   and lifts at the note-off; the others hover.
3. Bow. At every onset the bow reverses; it travels at a speed set by the velocity, clamped
   to the bow's length, and rests between notes. The bow arm tilts with the string played.
"""

from __future__ import annotations

import numpy as np

from edge.data.synth.body import (
    HEAD,
    L_SHOULDER,
    R_SHOULDER,
    pose_elbow,
    pose_hand,
    rest_body,
)
from edge.data.synth.params import ViolinParams
from edge.data.synth.piano import stroke_envelope
from edge.data.synth.score import Notes
from edge.skeleton import L_WRIST, R_WRIST

L_ELBOW_J, R_ELBOW_J = 6, 3


def string_and_semitone(pitch: np.ndarray, p: ViolinParams) -> tuple[np.ndarray, np.ndarray]:
    """Per note: string index (0 = lowest) and semitones above that open string."""
    opens = np.array(p.open_strings)
    s = np.clip(np.searchsorted(opens, pitch, side="right") - 1, 0, opens.size - 1)
    return s, pitch - opens[s]


def stop_point(string: np.ndarray, semis: np.ndarray, p: ViolinParams) -> np.ndarray:
    """[..., 2]: image position of ``semis`` semitones up ``string`` (0 = open string)."""
    nut, bridge = np.array(p.nut), np.array(p.bridge)
    axis = bridge - nut
    perp = np.array([-axis[1], axis[0]]) / np.linalg.norm(axis)
    frac = 1.0 - 2.0 ** (-np.asarray(semis, np.float64) / 12.0)
    offset = (np.asarray(string, np.float64) - 1.5) * p.string_spread
    return nut + frac[..., None] * axis + offset[..., None] * perp


def hand_positions(semis: np.ndarray) -> np.ndarray:
    """Per note: the left hand's base semitone (its position), moved only when out of reach."""
    base = np.zeros(semis.size)
    b = 0.0
    for i, n in enumerate(semis):
        if n > b + 8:
            b = float(n - 7)
        elif 0 < n < b + 1:
            b = float(max(0, n - 1))
        base[i] = b
    return base


def bow_track(t: np.ndarray, notes: Notes, p: ViolinParams) -> np.ndarray:
    """Bow position in [0, 1] (0 = frog) at times ``t``: reverses at each onset."""
    if not len(notes):
        return np.full(t.size, 0.5)
    kt, kv = [0.0], [0.5]
    u, direction = 0.5, 1.0
    for s, e, v in zip(notes.start, notes.end, notes.velocity / 127.0, strict=True):
        direction = -direction if u > 0.05 and u < 0.95 else (1.0 if u <= 0.05 else -1.0)
        speed = p.bow_speed_min + (p.bow_speed_max - p.bow_speed_min) * v
        u_end = float(np.clip(u + direction * speed * (e - s), 0.02, 0.98))
        kt += [s, e]
        kv += [u, u_end]
        u = u_end
    return np.interp(t, np.array(kt), np.array(kv))


def _left_hand(t: np.ndarray, notes: Notes, p: ViolinParams) -> tuple[np.ndarray, np.ndarray]:
    string, semis = string_and_semitone(notes.pitch, p)
    base = hand_positions(semis)
    kt, kb, ks = [0.0], [base[0] if base.size else 0.0], [string[0] if string.size else 1]
    for i in range(len(notes)):
        kt += [max(notes.start[i] - 0.08, kt[-1]), notes.start[i]]
        kb += [kb[-1], base[i]]
        ks += [ks[-1], string[i]]
    b_t, s_t = np.interp(t, kt, kb), np.interp(t, kt, ks)
    rest = np.stack([stop_point(s_t, b_t + 2 * k - 0.5, p) for k in range(1, 5)], 1)  # [T,4,2]
    axis = np.array(p.bridge) - np.array(p.nut)
    down = np.array([axis[1], -axis[0]]) / np.linalg.norm(axis)  # toward the player's palm
    hover = rest - down * 0.012
    env = np.zeros((t.size, 4))
    target = hover.copy()
    for i in range(len(notes)):
        if semis[i] == 0:
            continue
        k = int(np.clip(np.ceil((semis[i] - base[i]) / 2), 1, 4)) - 1
        a = np.searchsorted(t, notes.start[i] - 0.05)
        b = np.searchsorted(t, notes.end[i] + 0.05, side="right")
        e = stroke_envelope(t[a:b], notes.start[i], notes.end[i], 0.05, 0.05)
        env[a:b, k] = np.maximum(env[a:b, k], e)
        target[a:b, k] = np.where((e > 0)[:, None], stop_point(string[i], semis[i], p),
                                  target[a:b, k])
    tips = hover + env[..., None] * (target - hover)
    wrist = stop_point(s_t, b_t + 3, p) + down * 0.05
    thumb = stop_point(s_t, b_t + 2, p) + down * 0.03
    return wrist, np.concatenate([thumb[:, None], tips], 1)


def _bow_arm(t: np.ndarray, notes: Notes, p: ViolinParams) -> tuple[np.ndarray, np.ndarray]:
    u = bow_track(t, notes, p)
    string, _ = string_and_semitone(notes.pitch, p)
    s_t = np.interp(t, notes.start, string) if len(notes) else np.full(t.size, 1.5)
    contact = stop_point(s_t, np.full(t.size, 30.0), p)  # near the bridge
    ang = np.deg2rad(200.0 + p.string_angle_deg * (s_t - 1.5))  # bow points to the image left
    bow_dir = np.stack([np.cos(ang), np.sin(ang)], 1)
    wrist = contact + (0.04 + p.bow_length * u)[:, None] * bow_dir
    grip = np.array([[0.0, 0.0], [0.025, 0.02], [0.035, 0.025], [0.04, 0.02], [0.04, 0.012]])
    tips = wrist[:, None] - grip[None] * np.array([1.0, -1.0])  # fingers curl over the stick
    return wrist, tips


def perform_violin(notes: Notes, n_frames: int, fps: float, p: ViolinParams) -> np.ndarray:
    """float64 [T, 65, 2]: a violinist playing the monophonic ``notes`` (performer frame)."""
    t = np.arange(n_frames) / fps
    out = rest_body(n_frames)
    out[:, list(HEAD), 0] += 0.03  # head leans onto the chin rest
    out[:, list(HEAD), 1] += 0.02
    lw, ltips = _left_hand(t, notes, p)
    rw, rtips = _bow_arm(t, notes, p)
    pose_hand(out, left=True, wrist=lw, tips=ltips)
    pose_hand(out, left=False, wrist=rw, tips=rtips)
    out[:, L_ELBOW_J] = pose_elbow(out[:, L_SHOULDER], out[:, L_WRIST], out_dir=1.0, drop=0.05)
    out[:, R_ELBOW_J] = pose_elbow(out[:, R_SHOULDER], out[:, R_WRIST], out_dir=1.0, drop=0.04)
    return out
