"""Small files shipped with foley-edge: ``demo_clip.npz`` (rebuild: ``foley-edge data demo-clip``)."""

from pathlib import Path

DEMO_CLIP = Path(__file__).resolve().parent / "demo_clip.npz"
"""The bundled clip: 8 s of Bach's chorale BWV 66.6 (the demo stream, fallback calibration data)."""
