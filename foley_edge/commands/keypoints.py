"""foley-edge keypoints: a video (or camera) → a body65 keypoint clip."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``keypoints`` sub-command."""
    p = sub.add_parser(
        "keypoints",
        help="extract body65 keypoints from a video with MediaPipe Holistic",
        description="Extract body65 keypoints from a video (MediaPipe Holistic, run in "
        ".venv-video; `make setup-video` creates it) into a clip file.",
    )
    p.add_argument("video", help="a video file, or a camera index such as 0")
    p.add_argument("--out", required=True, type=Path, help="clip file to write (.npz)")
    p.add_argument("--fps", type=float, default=22.0, help="output frame rate (default 22)")
    p.add_argument("--mirrored", action="store_true", help="the footage is mirrored (selfie view)")
    p.add_argument("--max-gap", type=float, default=0.25, help="fill gaps up to this many seconds")
    p.add_argument("--no-smooth", action="store_true", help="disable One-Euro smoothing")
    p.add_argument("--max-frames", type=int, default=0, help="stop after N source frames")
    p.add_argument("--overlay", type=Path, help="also write the skeleton drawn over the video (.mp4)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Extract, save atomically, print a summary."""
    from edge.data.clip import save_clip  # noqa: PLC0415
    from firmware_bridge.video import filters  # noqa: PLC0415
    from firmware_bridge.video.extract import CleanUp, extract_clip, write_overlay  # noqa: PLC0415

    params = CleanUp(
        fps=args.fps,
        max_gap_s=args.max_gap,
        smoothing=None if args.no_smooth else filters.OneEuro(),
    )
    t0 = time.monotonic()
    clip = extract_clip(args.video, mirrored=args.mirrored, params=params, max_frames=args.max_frames)
    dt = time.monotonic() - t0
    save_clip(clip, args.out)
    m = clip.meta
    print(
        f"{args.out}: {clip.n_frames} frames at {clip.fps:g} fps from {m['source_frames']} source "
        f"frames at {m['source_fps']:g} fps ({m['source_frames'] / dt:.1f} frames/s); "
        f"pose found in {m['pose_found']:.0%}, left hand {m['left_hand_found']:.0%}, "
        f"right hand {m['right_hand_found']:.0%} of frames"
    )
    if args.overlay:
        write_overlay(args.video, args.out, args.overlay)
        print(f"{args.overlay}: skeleton overlay")
    return 0
