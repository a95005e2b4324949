"""Run tflite-micro's interpreter N times on zero inputs (foley-edge bench, under callgrind).

Usage: python tflm_bench.py MODEL.tflite N. Only MicroInterpreter::Invoke() is collected
(--toggle-collect), so Python's own instructions do not count.
"""

import sys

from tflite_micro import runtime

ARENA_BYTES = 1 << 23

data = open(sys.argv[1], "rb").read()
interp = runtime.Interpreter.from_bytes(data, arena_size=ARENA_BYTES)
for _ in range(int(sys.argv[2])):
    interp.invoke()
