"""A process's first Optimizer that may decide runs one full garbage collection before its
first decision, so that Python's first full collection of the start-up's objects does not
fall inside the search's lock later (`optimizer._prepare_to_decide`).

The scripts count the calls to ``gc.collect`` (the collector's own automatic runs may
come at any time and are not counted)."""

from __future__ import annotations

import json
import subprocess
import sys

COUNTING = """
import gc, json, sys
calls = []
real = gc.collect
gc.collect = lambda *args: calls.append(args) or real(*args)
from comet_optimize import Optimizer
"""

SCRIPT = COUNTING + """
config = {"algorithm": "random", "spec": {"maxCombo": 3},
          "parameters": {"x": {"type": "double", "min": 0, "max": 1}}}
counts = [len(calls)]
opt = Optimizer(config, verbose=0, store=sys.argv[1])
counts.append(len(calls))
Optimizer(opt.id, verbose=0, store=sys.argv[1])  # a second one: not again
counts.append(len(calls))
print(json.dumps(counts))
"""

READER = COUNTING + """
Optimizer(sys.argv[2], verbose=0, store=sys.argv[1], readonly=True)
print(len(calls))
"""


def test_the_first_deciding_optimizer_of_a_process_collects_once(file_store):
    done = subprocess.run([sys.executable, "-c", SCRIPT, file_store], capture_output=True,
                          text=True, check=True)
    assert json.loads(done.stdout) == [0, 1, 1]


def test_a_reader_does_not_collect(file_store):
    made = subprocess.run([sys.executable, "-c", SCRIPT, file_store], capture_output=True,
                          text=True, check=True)
    assert made.returncode == 0
    from comet_optimize.store import FileStore

    [search] = FileStore(file_store).list_ids()
    done = subprocess.run([sys.executable, "-c", READER, file_store, search],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "0"
