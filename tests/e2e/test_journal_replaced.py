"""A journal moved, deleted or replaced while the search runs stops its writers.

A sync tool, a restore from backup or a clean-up can put another file under the
journal's name while workers hold the old one open. Writing on would record
results in a file no reader opens, under a lock that no longer excludes the
processes that open the new one; rebuilding from the new file would mix two
histories. Each writer stops with one sentence and writes nothing anywhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from comet_optimize import Optimizer
from comet_optimize.errors import OptimizerException

CONFIG = {"algorithm": "random", "parameters": {"x": {"type": "float", "min": 0, "max": 1}},
          "spec": {"maxCombo": 10, "metric": "loss", "seed": 3}}
SENTENCE = "the journal was moved, deleted or replaced while this process used it"


def replace(journal: str, how: str) -> bytes | None:
    """Put the journal out of the search's reach as ``how`` says; return what is now
    under its name (None when nothing is)."""
    os.link(journal, journal + ".held")  # the file the writers hold, to look at after
    if how == "restored from a copy":
        shutil.copyfile(journal, journal + ".copy")
        os.replace(journal + ".copy", journal)
    elif how == "deleted":
        os.unlink(journal)
    else:  # moved away and the name left empty
        os.rename(journal, journal + ".moved")
    return open(journal, "rb").read() if os.path.exists(journal) else None


@pytest.mark.parametrize("how", ["restored from a copy", "deleted", "moved away"])
def test_a_writer_stops_and_writes_nowhere(tmp_path, how):
    opt = Optimizer(CONFIG, verbose=0, store=str(tmp_path))
    journal = os.path.join(str(tmp_path), opt.id, "journal.jsonl")
    first = opt.next()
    first.log_metric("loss", 0.5)
    first.end()
    second = opt.next()
    second.log_metric("loss", 0.25)
    held_before = open(journal, "rb").read()
    now_named = replace(journal, how)

    with pytest.raises(OptimizerException, match=SENTENCE):
        second.end()
    with pytest.raises(OptimizerException, match=SENTENCE):
        opt.next()  # and again: the old file is not silently swapped for the new one

    assert open(journal + ".held", "rb").read() == held_before
    if now_named is None:
        assert not os.path.exists(journal)  # not re-created empty
    else:
        assert open(journal, "rb").read() == now_named


WORKER = """
import sys
from comet_optimize import Optimizer
opt = Optimizer(sys.argv[1], verbose=0)
experiment = opt.next()
print("assigned", flush=True)
sys.stdin.readline()
experiment.log_metric("loss", 1.0)
for experiment in opt.get_experiments():
    experiment.log_metric("loss", 2.0)
"""


def test_a_worker_process_stops_in_one_sentence_and_its_exit_writes_nothing(tmp_path):
    store = str(tmp_path / "store")
    opt = Optimizer(CONFIG, verbose=0, store=store)
    journal = os.path.join(store, opt.id, "journal.jsonl")
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    worker = subprocess.Popen([sys.executable, str(script), opt.id], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "COMET_OPTIMIZE_STORE": store})
    assert worker.stdout.readline() == "assigned\n"
    held_before = open(journal, "rb").read()
    now_named = replace(journal, "restored from a copy")
    out, err = worker.communicate("go\n", timeout=60)

    assert worker.returncode == 1
    assert SENTENCE in err
    # the exit tries to fail the open experiment, is refused the same way, and says so
    assert "could not end the open experiments" in err
    assert open(journal + ".held", "rb").read() == held_before
    assert open(journal, "rb").read() == now_named
