"""A worker that redraws a progress line with \\r, the way tqdm and Keras do.

usage: redraw_worker.py OPTIMIZER FIFO_PREFIX COUNT stdout|stderr

Prints "hello {json}" (isatty of its streams, its terminal's columns), then
COUNT redraws "\\rprogress i/COUNT" on the chosen stream, then blocks until
the test opens and closes FIFO_PREFIX-<worker index> (so the test sees the
redraws while the worker is still alive), then ends the line and prints
"finished". On SIGWINCH it prints "winch <columns of its terminal>".
"""

import json
import os
import signal
import sys

prefix, count, name = sys.argv[2], int(sys.argv[3]), sys.argv[4]
stream = getattr(sys, name)
index = os.environ["COMET_OPTIMIZER_PROCESS_ID"]
columns = os.get_terminal_size(sys.stdout.fileno()).columns if sys.stdout.isatty() else None
print("hello " + json.dumps({"index": index, "stdin": sys.stdin.isatty(),
                             "stdout": sys.stdout.isatty(), "stderr": sys.stderr.isatty(),
                             "columns": columns}), flush=True)
signal.signal(signal.SIGWINCH, lambda *_: print(
    f"\nwinch {os.get_terminal_size(sys.stdout.fileno()).columns}", flush=True))
for i in range(1, count + 1):
    stream.write(f"\rprogress {i}/{count}")
    stream.flush()
with open(f"{prefix}-{index}") as fifo:
    fifo.read()
stream.write("\n")
stream.flush()
print("finished", flush=True)
