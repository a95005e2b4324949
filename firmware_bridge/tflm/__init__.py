"""TensorFlow Lite Micro + CMSIS-NN for the boards: the peer runtime, built from source.

- :mod:`firmware_bridge.tflm.sources`: where the pinned sources come from (``../shared`` or
  ``$FOLEY_EDGE_TFLM_SRC``), what is said when they are missing, which files to compile;
- :mod:`firmware_bridge.tflm.library`: the static library per core, cached object by object.

The model side (the generated-C API over a TFLM interpreter) is :mod:`export.tflm.runtime`;
the firmware links it with ``foley-edge build --runtime tflm``, the bench with
:mod:`benchmarks.peer`.
"""
