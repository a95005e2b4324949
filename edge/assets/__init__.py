"""Small files shipped with foley-edge: ``demo_clip.npz`` (rebuild: ``foley-edge data demo-clip``)."""
