"""The piano performer: hands follow the pitches, fingertips strike the keys.

Steps, per hand (notes below ``split_pitch`` go to the left hand):

1. Hand positions. A resting hand covers 9 semitones around its centre ``c`` (fingers
   ``finger_step`` apart, thumb toward the middle of the keyboard). At each onset group the
   centre moves only as far as needed to cover the new notes (a pianist's hand position);
   the hand glides there just before the onset. The wrist sits over ``c``.
2. Fingers. A note is played by the finger nearest its pitch in the current position. That
   fingertip descends onto the key during ``attack`` seconds ending at the onset (faster and
   deeper when louder), sits exactly over the key's x while held, and lifts during
   ``release_s`` after the note-off. The wrist dips a little with the stroke.
3. Arms. Elbows solve a two-link arm between the shoulder and the wrist.

So: wrist x encodes the register, the striking finger and its x the exact pitch, the dip's
timing the onset, its depth and speed the velocity, the lift the note-off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.data.synth.body import (
    L_SHOULDER,
    R_SHOULDER,
    pose_elbow,
    pose_hand,
    rest_body,
)
from edge.data.synth.params import PianoParams
from edge.data.synth.score import Notes
from edge.skeleton import L_WRIST, R_WRIST

L_ELBOW_J, R_ELBOW_J = 6, 3


def key_x(pitch: np.ndarray | float, p: PianoParams) -> np.ndarray:
    """x (image units) of the key of ``pitch`` (fractional pitches interpolate)."""
    return p.key_x0 + (p.key_x1 - p.key_x0) * (np.asarray(pitch, np.float64) - 21.0) / 87.0


def hand_centres(start: np.ndarray, pitch: np.ndarray, reach: float, default: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Per note: the hand centre (pitch units) in force when it is struck, and group onsets.

    The centre moves only when a group's notes fall outside ``c ± reach``: then just far enough
    (or to the group's middle when the group is wider than the hand).
    """
    centre = np.zeros(start.size)
    c = float(np.mean(pitch[start == start[0]])) if start.size else default
    onsets = np.unique(start)
    for t in onsets:
        sel = start == t
        lo, hi = float(pitch[sel].min()), float(pitch[sel].max())
        if hi - lo > 2 * reach:
            c = (lo + hi) / 2
        elif hi > c + reach:
            c = hi - reach
        elif lo < c - reach:
            c = lo + reach
        centre[sel] = c
    return centre, onsets


def centre_track(t: np.ndarray, start: np.ndarray, centre: np.ndarray, default: float,
                 glide_max_s: float) -> np.ndarray:
    """Hand centre (pitch units) at frame times ``t``: held, then gliding into each onset."""
    if start.size == 0:
        return np.full(t.size, default)
    onsets, first = np.unique(start, return_index=True)
    values = centre[first]
    kt, kv = [onsets[0]], [values[0]]
    for i in range(1, onsets.size):
        gap = onsets[i] - onsets[i - 1]
        glide = float(np.clip(0.5 * gap, 0.03, glide_max_s))
        kt += [onsets[i] - glide, onsets[i] - 0.01]
        kv += [values[i - 1], values[i]]
    return np.interp(t, np.array(kt), np.array(kv))


def stroke_envelope(t: np.ndarray, onset: float, off: float, attack: float, release: float
                    ) -> np.ndarray:
    """0 → 1 (descending during ``attack`` before the onset), 1 while held, → 0 after off."""
    rise = np.clip((t - (onset - attack)) / attack, 0.0, 1.0)
    fall = np.clip(1.0 - (t - off) / release, 0.0, 1.0)
    env = np.minimum(rise, fall)
    return env * env * (3 - 2 * env)  # smoothstep: no velocity jumps


@dataclass(frozen=True)
class PianoPlan:
    """How a pianist plays each note: which hand, which finger, from which hand position."""

    notes: Notes  # the notes as played (a note re-struck by the same finger is released first)
    left: np.ndarray  # bool [N]: played by the left hand
    finger: np.ndarray  # int [N]: 0 thumb .. 4 pinky
    centre: np.ndarray  # float [N]: the hand's centre (pitch units) when the note is struck


def _attack(vel: np.ndarray, p: PianoParams) -> np.ndarray:
    return p.attack_slow_s + (p.attack_fast_s - p.attack_slow_s) * vel / 127.0


def plan_piano(notes: Notes, p: PianoParams) -> PianoPlan:
    """Assign hands and fingers, then release any key before its finger strikes again.

    A finger cannot hold one key and strike the next: a note's end is moved earlier so that
    the finger has lifted (``release_s``) before its next descent starts; a note keeps at least
    30 ms. The clip's MIDI is written from these played notes, so motion and MIDI agree.
    """
    left = notes.pitch < p.split_pitch
    finger = np.zeros(len(notes), np.int64)
    centre = np.zeros(len(notes))
    for is_left in (True, False):
        sel = left == is_left
        c, _ = hand_centres(notes.start[sel], notes.pitch[sel].astype(np.float64),
                            2.0 * p.finger_step, 48.0 if is_left else 72.0)
        sign = -1.0 if is_left else 1.0  # the thumb plays the pitch nearest the middle
        f = np.rint(2 + sign * (notes.pitch[sel] - c) / p.finger_step)
        finger[sel], centre[sel] = np.clip(f, 0, 4).astype(np.int64), c
    end = notes.end.copy()
    attack = _attack(notes.velocity, p)
    for key in np.unique(left * 5 + finger):
        idx = np.flatnonzero(left * 5 + finger == key)
        nxt = notes.start[idx[1:]] - attack[idx[1:]] - p.release_s
        end[idx[:-1]] = np.minimum(end[idx[:-1]], np.maximum(nxt, notes.start[idx[:-1]] + 0.03))
    played = Notes(notes.start, end, notes.pitch, notes.velocity)
    return PianoPlan(played, left, finger, centre)


def play_hand(t: np.ndarray, plan: PianoPlan, *, left: bool, p: PianoParams
              ) -> tuple[np.ndarray, np.ndarray]:
    """Wrist [T, 2] and fingertips [T, 5, 2] of one hand."""
    sel = plan.left == left
    start, end = plan.notes.start[sel], plan.notes.end[sel]
    pitch, vel = plan.notes.pitch[sel].astype(np.float64), plan.notes.velocity[sel]
    finger, centre = plan.finger[sel], plan.centre[sel]
    c_t = centre_track(t, start, centre, 48.0 if left else 72.0, p.glide_max_s)
    sign = -1.0 if left else 1.0
    rest_pitch = c_t[:, None] + sign * p.finger_step * (np.arange(5)[None, :] - 2)
    env, target, depth = np.zeros((t.size, 5)), np.zeros((t.size, 5)), np.zeros((t.size, 5))
    attack = _attack(vel, p)
    for i in range(start.size):
        f = finger[i]
        a = np.searchsorted(t, start[i] - attack[i])
        b = np.searchsorted(t, end[i] + p.release_s, side="right")
        e = stroke_envelope(t[a:b], start[i], end[i], attack[i], p.release_s)
        win = e > env[a:b, f]
        env[a:b, f] = np.where(win, e, env[a:b, f])
        target[a:b, f] = np.where(win, pitch[i], target[a:b, f])
        d = p.depth_min + (p.depth_max - p.depth_min) * vel[i] / 127.0
        depth[a:b, f] = np.where(win, d, depth[a:b, f])
    tip_pitch = rest_pitch + env * (target - rest_pitch)
    tips = np.stack([key_x(tip_pitch, p), p.key_y + env * depth], -1)
    wrist = np.stack([key_x(c_t, p), p.wrist_y + p.wrist_dip * (env * depth).max(1)], -1)
    return wrist, tips


def perform_piano(plan: PianoPlan, n_frames: int, fps: float, p: PianoParams) -> np.ndarray:
    """float64 [T, 65, 2]: a pianist playing ``plan`` (performer frame, no nuisance)."""
    t = np.arange(n_frames) / fps
    out = rest_body(n_frames)
    for is_left in (True, False):
        wrist, tips = play_hand(t, plan, left=is_left, p=p)
        pose_hand(out, left=is_left, wrist=wrist, tips=tips)
    out[:, L_ELBOW_J] = pose_elbow(out[:, L_SHOULDER], out[:, L_WRIST], out_dir=-1.0, drop=0.03)
    out[:, R_ELBOW_J] = pose_elbow(out[:, R_SHOULDER], out[:, R_WRIST], out_dir=1.0, drop=0.03)
    return out
