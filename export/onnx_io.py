"""ONNX both ways: float Keras -> ONNX (tf2onnx, checked with onnxruntime), ONNX -> int8 TFLite.

Export: each batch-1 float model becomes a ``tf.function`` over named ``TensorSpec``s returning
its outputs in sorted-name order; tf2onnx converts it; the graph outputs are renamed to the
Keras names; onnxruntime runs it on fixed-seed inputs and the max |onnxruntime - Keras| must be
<= :data:`ONNX_TOLERANCE`.

Import (:func:`import_onnx`): a model trained elsewhere (the official Foley Music code is
PyTorch) arrives as ONNX. ``onnx-tf`` is dead on TF >= 2.16 (PLATFORM.md), so ``onnx2tf``
converts it to a SavedModel, with every input's shape kept as is (no NCHW -> NHWC guessing);
the SavedModel then goes through the same int8 conversion, gate and checks (int8 vs the
onnxruntime float reference, LiteRT vs TFLM) as a run folder.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from edge.data.clip import write_atomic
from export.int8.errors import ExportError

ONNX_TOLERANCE = 1e-4
"""Max abs difference of onnxruntime vs Keras outputs."""

OPSET = 17
"""ONNX opset of exported models."""


def _sample(t: Any, rng: np.random.Generator) -> np.ndarray:
    shape = tuple(int(d or 1) for d in t.shape)
    if "int" in str(t.dtype):
        return rng.integers(0, min(shape[-1] + 1, 8), shape).astype(np.int32)
    return rng.uniform(-1.0, 1.0, shape).astype(np.float32)


def keras_to_onnx(model: Any) -> Any:
    """The ``onnx.ModelProto`` of a batch-1 functional Keras model, outputs named as in Keras."""
    import tensorflow as tf
    import tf2onnx

    names = sorted(model.output) if isinstance(model.output, dict) else ["output"]
    specs = [tf.TensorSpec(tuple(t.shape), t.dtype, name=t.name) for t in model.inputs]

    @tf.function(input_signature=specs)
    def fn(*args: Any) -> Any:
        res = model(_structured(model, dict(zip([t.name for t in model.inputs], args, strict=True))),
                    training=False)
        res = res if isinstance(res, dict) else {"output": res}
        return tuple(res[n] for n in names)

    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    frozen = convert_variables_to_constants_v2(fn.get_concrete_function())
    graph_def = frozen.graph.as_graph_def()
    in_names = [t.name for t in frozen.inputs if t.dtype != tf.resource]
    out_names = [t.name for t in frozen.outputs]
    try:
        proto, _ = tf2onnx.convert.from_graph_def(graph_def, input_names=in_names,
                                                  output_names=out_names, opset=OPSET)
    except Exception as e:  # noqa: BLE001 - tf2onnx raises assorted errors
        raise ExportError(f"tf2onnx failed on {model.name}: {type(e).__name__}: {e}") from e
    for i in proto.graph.input:  # "keypoints:0" -> "keypoints"
        _rename(proto, i.name, i.name.split(":")[0])
    for o, n in zip(list(proto.graph.output), names, strict=True):
        _rename(proto, o.name, n)
    return proto


def _rename(proto: Any, old: str, new: str) -> None:
    """Rename the graph value ``old`` to ``new`` everywhere in ``proto``."""
    for node in proto.graph.node:
        node.output[:] = [new if o == old else o for o in node.output]
        node.input[:] = [new if i == old else i for i in node.input]
    for v in (*proto.graph.input, *proto.graph.output):
        if v.name == old:
            v.name = new


def _structured(model: Any, feeds: dict[str, Any]) -> Any:
    """A single-input model takes its tensor, a multi-input one the dict by name."""
    return next(iter(feeds.values())) if len(model.inputs) == 1 else feeds


def check_onnx(proto: Any, model: Any, seed: int = 0) -> float:
    """Max |onnxruntime - Keras| over every output for one fixed-seed input."""
    import onnxruntime as ort

    rng = np.random.default_rng(seed)
    feeds = {t.name: _sample(t, rng) for t in model.inputs}
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds), strict=True))
    ref = model(_structured(model, feeds), training=False)
    ref = ref if isinstance(ref, dict) else {"output": ref}
    return max(float(np.max(np.abs(np.asarray(ref[n]) - got[n]))) for n in ref)


def export_onnx_pair(fixed: Any, out: Path) -> dict[str, dict[str, Any]]:
    """Write ``encoder.onnx`` and ``decoder_step.onnx`` of ``fixed`` and check each."""
    result = {}
    for name, model in (("encoder.onnx", fixed.encoder), ("decoder_step.onnx", fixed.step)):
        proto = keras_to_onnx(model)
        diff = check_onnx(proto, model)
        write_atomic(out / name, proto.SerializeToString())
        result[name] = {"max_abs_diff": diff, "target": ONNX_TOLERANCE, "opset": OPSET,
                        "ok": diff <= ONNX_TOLERANCE}
    return result


def onnx_to_saved_model(onnx_path: Path, folder: Path, sample: np.ndarray) -> list[str]:
    """Convert with onnx2tf (shapes kept); the SavedModel's input names.

    onnx2tf downloads sample images for its dummy inference when every input looks like an
    NHWC image (ours: ``[1,W,65,3]``); this machine is offline, so its downloader is replaced,
    for the call, by one returning ``sample`` (real calibration windows). Importing onnx2tf
    sets process-wide environment variables (``TF_USE_LEGACY_KERAS=1`` among them); they are
    restored when the conversion returns.
    """
    from unittest import mock

    import onnx

    proto = onnx.load(str(onnx_path))
    names = [i.name for i in proto.graph.input]
    with mock.patch.dict(os.environ):
        _onnx2tf(onnx_path, folder, names, sample)
    return names


def _onnx2tf(onnx_path: Path, folder: Path, names: list[str], sample: np.ndarray) -> None:
    from unittest import mock

    import onnx2tf

    offline = mock.patch.object(onnx2tf.onnx2tf, "download_test_image_data", lambda: sample)
    try:
        with offline, contextlib.redirect_stdout(io.StringIO()):
            onnx2tf.convert(input_onnx_file_path=str(onnx_path), output_folder_path=str(folder),
                            keep_shape_absolutely_input_names=names, output_signaturedefs=True,
                            non_verbose=True, verbosity="error")
    except Exception as e:  # noqa: BLE001 - onnx2tf raises assorted errors
        raise ExportError(f"{onnx_path}: onnx2tf failed: {type(e).__name__}: {e}") from e


def _tmpdir() -> str:
    return tempfile.mkdtemp(prefix="foley-edge-onnx2tf-", dir=os.environ.get("TMPDIR"))


def _keypoint_windows(root: str, width: int, limit: int) -> np.ndarray:
    """Up to ``limit`` keypoint windows ``[width,65,3]`` from a dataset's training clips."""
    from edge.data.dataset import load_split
    from edge.train.windows import window_keypoints

    wins = [window_keypoints(c.keypoints, e, width)
            for c in load_split(root, "train") for e in range(width, c.n_frames + 1, max(1, width // 2))]
    if not wins:
        raise ExportError(f"--calibration {root}: no training clip is {width} frames long")
    idx = np.unique(np.linspace(0, len(wins) - 1, min(limit, len(wins))).round().astype(int))
    return np.stack([wins[i] for i in idx]).astype(np.float32)


def calibration_samples(src: str, inputs: dict[str, tuple[tuple[int, ...], str]],
                        limit: int) -> list[dict[str, np.ndarray]]:
    """Batch-1 samples for ``inputs`` (name -> (shape, dtype)) from a dataset folder or a .npz.

    A dataset folder feeds keypoint inputs ``[1,W,65,3]`` with real windows of its training
    split; a ``.npz`` holds one array ``[N, ...]`` per input name.
    """
    path = Path(src)
    if path.is_dir():
        shapes = {n: s for n, (s, _) in inputs.items()}
        if len(shapes) != 1 or any(len(s) != 4 or s[2:] != (65, 3) for s in shapes.values()):
            raise ExportError(f"--calibration {src}: a dataset folder feeds one keypoint input "
                              f"[1,W,65,3]; found inputs {shapes} (pass a .npz of arrays by name)")
        name, shape = next(iter(shapes.items()))
        return [{name: w[None]} for w in _keypoint_windows(src, shape[1], limit)]
    if path.suffix != ".npz" or not path.is_file():
        raise ExportError(f"--calibration {src}: expected a dataset folder or a .npz file")
    with np.load(path) as z:
        missing = sorted(set(inputs) - set(z.files))
        if missing:
            raise ExportError(f"--calibration {src}: arrays {missing} missing (found {z.files})")
        arrays = {n: z[n].astype(dt) for n, (_, dt) in inputs.items()}
    n = min(len(a) for a in arrays.values())
    return [{k: a[i : i + 1] for k, a in arrays.items()} for i in range(min(n, limit))]


def _ort_inputs(onnx_path: Path) -> tuple[Any, dict[str, tuple[tuple[int, ...], str]]]:
    import onnxruntime as ort

    try:
        sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - onnxruntime raises its own exception types
        raise ExportError(f"{onnx_path}: onnxruntime cannot load the model: {e}") from e
    kinds = {"tensor(float)": "float32", "tensor(int32)": "int32", "tensor(int64)": "int64"}
    meta = {}
    for i in sess.get_inputs():
        shape = tuple(d if isinstance(d, int) else 1 for d in i.shape)
        meta[i.name] = (shape, kinds.get(i.type, "float32"))
    return sess, meta


def import_onnx(onnx_path: str | os.PathLike[str], calibration: str, out: str | os.PathLike[str],
                *, limit: int = 64) -> dict[str, Any]:
    """ONNX -> onnx2tf SavedModel -> int8 ``out/model.tflite`` + gate + checks + report."""
    import shutil

    from export.int8.convert import convert_saved_model_int8
    from export.int8.gate import check_ops
    from export.int8.import_checks import check_imported
    from export.int8.report import model_facts

    onnx_path, out = Path(onnx_path), Path(out)
    if not onnx_path.is_file():
        raise ExportError(f"--onnx {onnx_path}: no such file")
    sess, meta = _ort_inputs(onnx_path)
    samples = calibration_samples(calibration, meta, limit)
    folder = Path(_tmpdir())
    try:
        first = next(iter(samples[0]))
        onnx_to_saved_model(onnx_path, folder, np.concatenate([x[first] for x in samples]))
        flat = convert_saved_model_int8(str(folder), samples, name=onnx_path.name)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    check_ops(flat, where=f"{onnx_path.name} -> model.tflite")
    write_atomic(out / "model.tflite", flat)
    report = {"source_onnx": str(onnx_path), "calibration": calibration, "samples": len(samples),
              "models": {"model.tflite": model_facts(flat, "model.tflite")}}
    return check_imported(out, report, flat, sess, samples)
