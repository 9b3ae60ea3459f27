"""Scripts and commands run with every warning an error (``-W error``, ``-X dev``) say nothing.

Test suites often run with warnings as errors (pytest's ``filterwarnings =
error``). On a PostgreSQL store every process left its connections for psycopg
to find open at exit: a ResourceWarning each, printed as "Exception ignored
... Traceback" by every worker and every ``status``, and failing a user's test
run as an unraisable exception. A forked child did the same with the
connections it had inherited, which it must never close.
"""

from __future__ import annotations

import os
import subprocess
import sys

from comet_optimize import Optimizer

SCRIPT = """
import os, sys
from comet_optimize import Optimizer
opt = Optimizer()
for experiment in opt.get_experiments():
    experiment.log_metric("loss", experiment.params["x"])
    if experiment.params["x"] == 2:
        child = os.fork()
        if child == 0:
            sys.exit(0)  # a child that ends normally, its finalizers run
        os.waitpid(child, 0)
print(opt.status()["completed"], flush=True)
"""
CONFIG = {"algorithm": "grid", "parameters": {"x": [1, 2, 3]}, "spec": {"metric": "loss"}}
STRICT = {"PYTHONWARNINGS": "error", "PYTHONDEVMODE": "1"}


def quiet(stderr: str) -> bool:
    return "Warning" not in stderr and "Exception ignored" not in stderr \
        and "Traceback" not in stderr


def test_a_script_and_the_commands_run_without_a_warning(store):
    opt = Optimizer(CONFIG, store=store, verbose=0)
    env = {**os.environ, **STRICT, "COMET_OPTIMIZE_STORE": store,
           "COMET_OPTIMIZER_ID": opt.id}
    run = subprocess.run([sys.executable, "-c", SCRIPT], env=env, text=True,
                         capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["3"]
    assert quiet(run.stderr), run.stderr
    for command in (["status", opt.id], ["list"], ["export", opt.id], ["check", opt.id]):
        shown = subprocess.run([sys.executable, "-m", "comet_optimize", "optimize", *command,
                                "--store", store], env=env, text=True, capture_output=True,
                               timeout=120)
        assert shown.returncode == 0, (command, shown.stderr)
        assert quiet(shown.stderr), (command, shown.stderr)


def test_a_store_dropped_mid_script_closes_its_connection(store):
    code = ("from comet_optimize.store import open_store\n"
            f"s = open_store({store!r}); s.list_ids(); del s\n"
            "import gc; gc.collect()\n")
    run = subprocess.run([sys.executable, "-c", code], env={**os.environ, **STRICT},
                         text=True, capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert quiet(run.stderr), run.stderr
