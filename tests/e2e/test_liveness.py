"""Liveness never fails a live worker for the wrong reason (issue 7 items 10-12).

Workers run for real in another PID namespace (``unshare --pid``, as in a
container) and are stopped with SIGSTOP; instead of waiting out a lease, the
tests age the heartbeat file, which is exactly what a silent worker's file
looks like later.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from comet_optimize import Optimizer, liveness
from tests.conftest import age_heartbeat, heartbeat_names, stored_events

WORKER = os.path.join(os.path.dirname(os.path.dirname(__file__)), "workers", "worker.py")
CONFIG = {"algorithm": "grid", "parameters": {"x": [1, 2]}, "spec": {"retryAssignLimit": 1}}


def can_unshare_pid() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"],
                           capture_output=True)
    return probe.returncode == 0


needs_pidns = pytest.mark.skipif(not can_unshare_pid(),
                                 reason="needs unshare --pid (root) to run a containerised worker")


def start_in_other_pid_namespace(optimizer_id: str, store: str, *flags: str):
    worker = subprocess.Popen(
        ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", sys.executable, WORKER,
         optimizer_id, *flags],
        env={**os.environ, "COMET_OPTIMIZE_STORE": store}, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    line = worker.stdout.readline()
    assert line.startswith("ready"), worker.stderr.read()
    return worker


def age_heartbeats(store: str, optimizer_id: str, pidns: int) -> None:
    names = heartbeat_names(store, optimizer_id)
    aged = [n for n in names if n.endswith(f"-{pidns}")]
    assert aged, names
    for name in aged:
        age_heartbeat(store, optimizer_id, name)


def close(worker: subprocess.Popen) -> None:
    for stream in (worker.stdin, worker.stdout, worker.stderr):
        stream.close()


@needs_pidns
def test_a_worker_in_another_pid_namespace_is_judged_by_its_heartbeat(store):
    opt = Optimizer(CONFIG, verbose=0, store=store)
    worker = start_in_other_pid_namespace(opt.id, store, "--hang")
    record = Optimizer(opt.id, verbose=0, store=store).experiments()[0]
    assert record["status"] == "running"
    event = next(e for e in stored_events(store, opt.id) if e["type"] == "assign")
    assert event["pidns"] != liveness.this_process().pidns
    # Its pid means another process here (or none): it must not be judged by it.
    Optimizer(opt.id, verbose=0, store=store).refresh()
    assert Optimizer(opt.id, verbose=0, store=store).status()["running"] == 1

    os.killpg(worker.pid, signal.SIGKILL)  # unshare and the worker in its namespace
    worker.wait()
    close(worker)
    age_heartbeats(store, opt.id, event["pidns"])
    status = Optimizer(opt.id, verbose=0, store=store).status()
    assert (status["running"], status["failed"]) == (0, 1)


@needs_pidns
def test_a_worker_stopped_past_its_lease_still_records_its_late_result(store):
    opt = Optimizer(CONFIG, verbose=0, store=store)
    worker = start_in_other_pid_namespace(opt.id, store, "--hang-then-report")
    count = Optimizer(opt.id, verbose=0, store=store).experiments()[0]["count"]
    pidns = next(e for e in stored_events(store, opt.id) if e["type"] == "assign")["pidns"]
    os.killpg(worker.pid, signal.SIGSTOP)  # the worker itself, not only unshare
    try:
        age_heartbeats(store, opt.id, pidns)
        other = Optimizer(opt.id, verbose=0, store=store)
        other.refresh()  # the lease lapsed: recorded as failed, and may be retried
        assert other.status()["failed"] == 1
        retry = other.next()
        assert retry.data["retry"] == 1
    finally:
        os.killpg(worker.pid, signal.SIGCONT)
    worker.stdin.write("go\n")
    worker.stdin.flush()
    assert worker.stdout.readline() == "done\n"
    assert worker.wait(timeout=60) == 0
    assert "late result is recorded" in worker.stderr.read()
    close(worker)
    record = {r["count"]: r for r in Optimizer(opt.id, verbose=0, store=store).experiments()}
    assert (record[count]["status"], record[count]["score"]) == ("completed", 0.5)


def test_the_identity_of_a_process_uses_no_wall_clock(store, monkeypatch):
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    try:
        with open(f"/proc/{child.pid}/stat", "rb") as handle:
            data = handle.read()
        ticks = int(data[data.rfind(b")") + 2:].split()[19])
        me = liveness.this_process()
        worker = liveness.Worker(me.host, child.pid, ticks, me.boot, me.pidns)
        assert liveness.same_machine_view(worker)

        def stepped_clock() -> float:
            raise AssertionError("the wall clock was consulted")

        monkeypatch.setattr(time, "time", stepped_clock)  # a clock step cannot matter now
        assert not liveness.is_dead(worker, None, "0" * 32, 0.0)
        assert liveness.is_dead(liveness.Worker(me.host, child.pid, ticks + 1, me.boot,
                                                me.pidns), None, "0" * 32, 0.0)
    finally:
        child.stdin.close()
        child.wait()
    assert liveness.is_dead(worker, None, "0" * 32, 0.0)


def test_a_same_host_worker_is_alive_until_it_exits_even_unreaped_or_stopped():
    """The exact check (a pidfd where there is one): alive, stopped, killed, reaped."""
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    try:
        start = liveness._start_of(child.pid)
        worker = liveness.Worker(liveness.this_process().host, child.pid, start,
                                 liveness.this_process().boot, liveness.this_process().pidns)
        assert liveness.same_machine_view(worker)
        assert not liveness.process_is_gone(worker)
        os.kill(child.pid, signal.SIGSTOP)  # stopped is alive
        assert not liveness.process_is_gone(worker)
        assert not liveness.process_is_gone(worker)  # asked again: the same answer
        os.kill(child.pid, signal.SIGKILL)
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # dead, not reaped: a zombie
        assert liveness.process_is_gone(worker)
        assert liveness.process_is_gone(worker)
        # Another process, even one that gets the same id, is never taken for it.
        later = liveness.Worker(worker.host, child.pid, start + 1, worker.boot, worker.pidns)
        assert liveness.process_is_gone(later)
    finally:
        child.kill()
        child.wait()
    assert liveness.process_is_gone(worker)


def test_a_closed_and_reused_process_handle_never_makes_a_live_worker_look_dead(tmp_path):
    """A script may close every descriptor (a daemonising library does) and open files:
    the number of a cached pidfd then names a file, which select() calls readable."""
    if not liveness._watch.usable:
        pytest.skip("no pidfd here: liveness reads /proc each time")
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    opened = []
    try:
        me = liveness.this_process()
        worker = liveness.Worker(me.host, child.pid, liveness._start_of(child.pid), me.boot,
                                 me.pidns)
        assert not liveness.process_is_gone(worker)  # the handle is opened and kept
        for number, _ in list(liveness._watch.handles.values()):
            os.close(number)  # behind the watch's back...
            path = tmp_path / f"file-{number}"
            path.write_text("x")
            opened.append(os.open(path, os.O_RDONLY))  # ...and the number is a file now
        assert opened, "no handle was cached"
        assert not liveness.process_is_gone(worker)
        assert not liveness.process_is_gone(worker)
        for fd in opened:
            os.fstat(fd)  # the watch closed none of the script's files
        child.kill()
        child.wait()
        assert liveness.process_is_gone(worker)
    finally:
        for fd in opened:
            os.close(fd)
        child.kill()
        child.wait()
