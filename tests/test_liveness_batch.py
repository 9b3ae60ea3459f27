"""`liveness.dead_among` (what each decision asks about every running assignment) agrees
with `liveness.is_dead` asked one by one: real processes, alive, ended and reaped,
ended and unreaped (a zombie), stopped; this process itself; a worker on another host,
judged by its lease in a real store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import replace

from comet_optimize import liveness
from comet_optimize.store import FileStore, new_optimizer_id


def _sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])


def _worker(process: subprocess.Popen) -> liveness.Worker:
    me = liveness.this_process()
    return replace(me, pid=process.pid, start=liveness._start_of(process.pid))


def test_dead_among_answers_as_is_dead_one_by_one(tmp_path):
    store = FileStore(str(tmp_path / "store"))
    search = new_optimizer_id()
    store.create(search, {"algorithm": "random"})
    alive, reaped, zombie, stopped = (_sleeper() for _ in range(4))
    workers = {name: _worker(process) for name, process in
               [("alive", alive), ("reaped", reaped), ("zombie", zombie), ("stopped", stopped)]}
    try:
        reaped.kill()
        reaped.wait()
        zombie.kill()
        os.waitid(os.P_PID, zombie.pid, os.WEXITED | os.WNOWAIT)  # ended, not reaped
        stopped.send_signal(signal.SIGSTOP)
        me = liveness.this_process()
        workers["me"] = me
        workers["me, an older process with my pid"] = replace(me, start=me.start - 1)
        remote = replace(me, host="elsewhere", pid=1234)
        store.beat(search, remote.name)
        workers["remote, beating"] = remote
        workers["remote, never beat"] = replace(remote, pid=4321)
        held = [(worker, 0.0) for worker in workers.values()]
        held.append(held[0])  # one worker holding two assignments
        expected = [liveness.is_dead(worker, store, search, at) for worker, at in held]
        assert liveness.dead_among(held, store, search) == expected
        assert dict(zip(workers, expected)) == {
            "alive": False, "reaped": True, "zombie": True, "stopped": False, "me": False,
            "me, an older process with my pid": True, "remote, beating": False,
            "remote, never beat": True}
        # Asked again (the handles are kept between decisions): the same answers.
        assert liveness.dead_among(held, store, search) == expected
    finally:
        for process in (alive, zombie, stopped):
            process.kill()
            process.wait()


def test_handles_numbered_over_1024_are_asked_too(tmp_path):
    """A script holding over 1,024 files gets our process handles numbered above them;
    ``select`` refused those (ValueError inside every decision: the worker died)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 1200:
        import pytest

        pytest.skip("the hard limit on open files is under 1,200")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    alive, ended = _sleeper(), _sleeper()
    try:
        store = FileStore(str(tmp_path / "store"))
        search = new_optimizer_id()
        store.create(search, {"algorithm": "random"})
        workers = [(_worker(alive), 0.0), (_worker(ended), 0.0)]
        assert liveness.dead_among(workers, store, search) == [False, False]
        ended.kill()
        ended.wait()
        assert liveness.dead_among(workers, store, search) == [False, True]
        assert liveness.is_dead(workers[0][0], store, search, 0.0) is False
    finally:
        alive.kill()
        alive.wait()
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
