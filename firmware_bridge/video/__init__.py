"""Video → body65 keypoints: MediaPipe Holistic in its own virtualenv, mapping and filtering here.

MediaPipe 0.10.21 (the last release that ships its models in the wheel) needs numpy < 2 and
protobuf < 5, so it lives in ``.venv-video`` (``make setup-video``) and runs as a subprocess
(:mod:`firmware_bridge.video.worker`) that streams raw landmarks; the main environment never
imports it. :mod:`~firmware_bridge.video.mapping` turns landmarks into body65 and
:mod:`~firmware_bridge.video.filters` smooths, fills and resamples them.
"""
