"""The Graph-Transformer: ST-GCN encoder + Transformer decoder, teacher and MCU student.

Modules: :mod:`config` (frozen configs, streaming scheme), :mod:`layers` (TFLM-friendly
layers), :mod:`encoder`, :mod:`decoder`, :mod:`build` (three weight-sharing models),
:mod:`kv` (the step's explicit cache), :mod:`budget` (SRAM/flash estimate), :mod:`decoding`
(greedy / sampled generation with guards), :mod:`evaluate` (metrics).
"""
