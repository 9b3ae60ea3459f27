"""A folder store on a file system that cannot lock files.

An NFS mount whose lock service is not running answers ``flock`` with ENOLCK
("No locks available"), the classic failure on a cluster's shared home; some
network and FUSE file systems have no flock at all. Workers without the lock
would overwrite each other's decisions, so the search refuses in one sentence
that names the file and what to do. The file system's answer is simulated in
the worker process (its ``fcntl.flock``, for files under the store only): a
real NFS server cannot run in the test machine.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys

import pytest

from comet_optimize import Optimizer

NO_LOCKS = """
import errno, fcntl, os

_flock = fcntl.flock
STORE = os.environ["NO_LOCKS_UNDER"]

def flock(fd, operation):
    if os.readlink(f"/proc/self/fd/{fd}").startswith(STORE):
        raise OSError(errno.%s, os.strerror(errno.%s))
    return _flock(fd, operation)

fcntl.flock = flock
"""

SCRIPT = """
import sys
from comet_optimize import Optimizer
for experiment in Optimizer(sys.argv[1], verbose=0).get_experiments():
    experiment.log_metric("loss", experiment.params["x"])
"""


@pytest.mark.parametrize("answer", ["ENOLCK", "EOPNOTSUPP"])
def test_a_store_that_cannot_be_locked_is_refused_in_one_sentence(tmp_path, answer):
    store = tmp_path / "store"
    opt = Optimizer({"algorithm": "grid", "parameters": {"x": [1, 2]}}, store=str(store),
                    verbose=0)
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NO_LOCKS % (answer, answer))
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "NO_LOCKS_UNDER": str(store)}
    run = subprocess.run([sys.executable, "-m", "comet_optimize.cli", "optimize", "-j", "2",
                          str(script), opt.id, "--store", str(store)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode != 0
    assert "Traceback" not in run.stderr, run.stderr
    lines = [line for line in run.stderr.splitlines() if "cannot lock files" in line]
    assert lines and all(str(store) in line and "PostgreSQL" in line for line in lines)
    assert os.strerror(getattr(errno, answer)) in lines[0]
    events = (store / opt.id / "journal.jsonl").read_text()
    assert json.dumps("assign") not in events  # nothing was decided without the lock


def test_no_search_is_created_on_a_store_that_cannot_be_locked(tmp_path):
    """The check comes before the search is made: each retry used to leave one more."""
    store = tmp_path / "store"
    store.mkdir()
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NO_LOCKS % ("ENOLCK", "ENOLCK"))
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    config = tmp_path / "opt.json"
    config.write_text(json.dumps({"algorithm": "grid", "parameters": {"x": [1, 2]}}))
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "NO_LOCKS_UNDER": str(store)}
    for _ in range(2):
        run = subprocess.run([sys.executable, "-m", "comet_optimize.cli", "optimize", "-j", "2",
                              str(script), str(config), "--store", str(store)],
                             capture_output=True, text=True, env=env, timeout=120)
        assert run.returncode == 2, run.stderr
        assert "cannot lock files" in run.stderr and run.stderr.count("\n") == 1, run.stderr
    assert os.listdir(store) == []
