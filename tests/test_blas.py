"""bayes decides with one BLAS thread, and gives the script its BLAS threads back after.

OpenBLAS's spinning threads made 120 bayes suggestions take 19 s instead of
3.7 s for a script that runs the optimizer itself on a busy two-core machine.
Each check runs in a fresh interpreter, whose OpenBLAS is set to 4 threads.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = r"""
import ctypes, threading, tempfile
import numpy, scipy.linalg
from comet_optimize import Optimizer, blas

def counters():
    found = []
    for path in sorted(blas._loaded_libraries()):
        library = ctypes.CDLL(path)
        for prefix, suffix in (("scipy_", "64_"), ("scipy_", ""), ("", "")):
            get = getattr(library, f"{prefix}openblas_get_num_threads{suffix}", None)
            put = getattr(library, f"{prefix}openblas_set_num_threads{suffix}", None)
            if get is not None and put is not None:
                put.argtypes = [ctypes.c_int]
                put(4)
                found.append(get)
                break
    return found

gets = counters()
if not gets or not blas._current_setters():
    print("SKIP no OpenBLAS with thread-local threads")
    raise SystemExit
seen = []

def search(seed):
    opt = Optimizer({"algorithm": "bayes", "spec": {"maxCombo": 16, "seed": seed},
                     "parameters": {"x": {"type": "double", "min": 0.0, "max": 1.0},
                                    "y": {"type": "double", "min": 0.0, "max": 1.0}}},
                    store=tempfile.mkdtemp(), verbose=0)
    suggest = opt.algorithm.suggest_with_id  # what the optimizer calls for a choice
    def watched(*args, **kwargs):
        seen.extend(get() for get in gets)
        return suggest(*args, **kwargs)
    opt.algorithm.suggest_with_id = watched
    for experiment in opt.get_experiments():
        experiment.log_metric("loss", (experiment.params["x"] - 0.3) ** 2)

# Three searches deciding at once in threads: whichever order they finish in,
# the script's setting comes back.
threads = [threading.Thread(target=search, args=(seed,)) for seed in range(3)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print("inside", sorted(set(seen)), len(seen) >= 3 * 16)
print("after", sorted({get() for get in gets}))
"""


def test_bayes_decides_with_one_blas_thread_and_restores_the_scripts_threads():
    run = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    if run.stdout.startswith("SKIP"):
        pytest.skip(run.stdout.strip())
    assert run.stdout.splitlines() == ["inside [1] True", "after [4]"]
