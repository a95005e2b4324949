#!/usr/bin/env bash
# Create .venv-video: MediaPipe Holistic (0.10.21, the last release shipping its models in the
# wheel; it needs numpy < 2 and protobuf < 5, so it cannot share .venv) plus two real videos of
# people from PyPI packages (Sports2D's demo, Pose2Sim's single-person demo) for the tests.
set -euo pipefail
venv=${1:-.venv-video}
python=${PYTHON:-python3}
[[ -x $venv/bin/python ]] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q "mediapipe==0.10.21" "numpy<2" "protobuf<5" \
    "opencv-python-headless==4.11.0.86" "opencv-contrib-python==4.11.0.86"
footage=$venv/footage
mkdir -p "$footage/wheels"
"$venv/bin/python" -m pip download -q --no-deps "sports2d==0.8.34" "pose2sim==0.10.49" -d "$footage/wheels"
"$venv/bin/python" - "$footage" <<'PY'
import sys, zipfile, pathlib
footage = pathlib.Path(sys.argv[1])
wanted = {
    "sports2d-0.8.34-py3-none-any.whl": {"Sports2D/Demo/demo.mp4": "sports2d_demo.mp4"},
    "pose2sim-0.10.49-py3-none-any.whl": {
        "Pose2Sim/Demo_SinglePerson/videos/cam01.mp4": "pose2sim_cam01.mp4",
        "Pose2Sim/Demo_SinglePerson/videos/cam02.mp4": "pose2sim_cam02.mp4",
    },
}
for wheel, members in wanted.items():
    with zipfile.ZipFile(footage / "wheels" / wheel) as z:
        for member, name in members.items():
            tmp = footage / f".{name}.tmp"
            tmp.write_bytes(z.read(member))
            tmp.replace(footage / name)
PY
rm -rf "$footage/wheels"
"$venv/bin/python" -c "import mediapipe, cv2, numpy; assert numpy.__version__ < '2'"
touch "$venv/.foley-edge-installed"
echo "foley-edge: MediaPipe environment ready in $venv (footage in $footage)"
