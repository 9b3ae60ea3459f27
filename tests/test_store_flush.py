"""The file store flushes an append to disk after releasing the lock, before `locked` returns.

The flush (``fdatasync``) costs milliseconds on a virtual disk; held inside the
lock it capped a search at one decision per flush. These tests watch the real
call (the store itself is not replaced): when the flush runs, another
descriptor of the same journal can take the lock, and the flush has run by
the time `locked` returns.
"""

from __future__ import annotations

import fcntl
import os

import pytest

from comet_optimize import Optimizer, OptimizerException
from comet_optimize.store import journal as journal_module
from comet_optimize.store.journal import Journal


@pytest.fixture
def flushes(monkeypatch):
    """Every fdatasync of the journal module, with whether the lock was free at the time."""
    seen: list[bool] = []
    real = os.fdatasync

    def watched(fd: int) -> None:
        probe = os.open(f"/proc/self/fd/{fd}", os.O_RDONLY)
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(probe, fcntl.LOCK_UN)
            seen.append(True)
        except BlockingIOError:
            seen.append(False)
        finally:
            os.close(probe)
        real(fd)

    monkeypatch.setattr(journal_module.os, "fdatasync", watched)
    return seen


def test_an_append_is_flushed_outside_the_lock_before_locked_returns(tmp_path, flushes):
    journal = Journal(str(tmp_path / "j.jsonl"))
    with journal.locked():
        journal.append([{"type": "a"}])
        assert flushes == []  # not while the lock is held
    assert flushes == [True]  # once, with the lock already free
    with journal.locked():
        pass  # nothing appended: nothing to flush
    assert flushes == [True]


def test_every_decision_of_an_optimizer_is_flushed_outside_the_lock(file_store, flushes):
    opt = Optimizer({"algorithm": "random", "spec": {"maxCombo": 5},
                     "parameters": {"x": {"type": "double", "min": 0, "max": 1}}},
                    verbose=0, store=file_store)
    for experiment in opt.get_experiments():
        experiment.log_metric("loss", experiment.params["x"])
    # created, then one write per next() (ending the previous one), and the last end
    assert flushes == [True] * 7


def test_a_failed_flush_is_one_clear_error(tmp_path, monkeypatch):
    journal = Journal(str(tmp_path / "j.jsonl"))

    def failing(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(journal_module.os, "fdatasync", failing)
    with pytest.raises(OptimizerException, match="cannot flush the journal to disk"):
        with journal.locked():
            journal.append([{"type": "a"}])
    with journal.locked() as seen:  # the lock was released all the same
        assert seen == []
