"""Run tflite-micro's interpreter N times on zero inputs (foley-edge bench, under callgrind).

Usage: python tflm_bench.py MODEL.tflite N. Only MicroInterpreter::Invoke() is collected
(--toggle-collect), so Python's own instructions do not count.
"""

import sys

import numpy as np
from tflite_micro import runtime

ARENA_BYTES = 1 << 23

data = open(sys.argv[1], "rb").read()
interp = runtime.Interpreter.from_bytes(data, arena_size=ARENA_BYTES)
details = []
k = 0
while True:
    try:
        details.append(interp.get_input_details(k))
    except (IndexError, RuntimeError, ValueError):
        break
    k += 1
for _ in range(int(sys.argv[2])):
    for k, d in enumerate(details):  # zero inputs each time: the arena may have reused them
        interp.set_input(np.zeros(tuple(d["shape"]), d["dtype"]), k)
    interp.invoke()
