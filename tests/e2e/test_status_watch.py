"""`comet optimize status ID --watch` in a real terminal (a pty) and in a pipe.

A worker holds an experiment open (tests/workers/worker.py --hang) so the
search is running; the test reads what the terminal shows, then lets the
worker finish (or presses Ctrl-C) and checks that the watch ends by itself.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time

import pytest

from comet_optimize import Optimizer

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(os.path.dirname(HERE), "workers", "worker.py")
COMET = [sys.executable, "-m", "comet_optimize.cli", "optimize"]


def environment(store: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "COMET_OPTIMIZER_ID"}
    env["COMET_OPTIMIZE_STORE"] = store
    env["COLUMNS"], env["LINES"] = "100", "30"
    return env


def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Terminal:
    """A process on a pseudo-terminal, and everything it has written."""

    def __init__(self, args: list[str], env: dict[str, str]):
        master, slave = pty.openpty()
        # As a shell starts a foreground command: Ctrl-C not ignored, even when these
        # tests run as a background job (which inherits SIGINT ignored).
        self.process = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env,
                                        close_fds=True, start_new_session=True,
                                        preexec_fn=_interruptible)
        os.close(slave)
        self.master = master
        self.output = b""

    def read_until(self, predicate, timeout: float, what: str) -> bytes:
        deadline = time.monotonic() + timeout
        while not predicate(self.output):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what}; got {self.output!r}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the process ended and the pty closed
                    chunk = b""
                if not chunk:
                    if not predicate(self.output):
                        raise AssertionError(f"ended before {what}; got {self.output!r}")
                    break
                self.output += chunk
        return self.output

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        os.close(self.master)


@pytest.fixture
def running_search(file_store):
    """A one-experiment search whose only experiment a live worker holds open."""
    opt = Optimizer({"algorithm": "grid", "parameters": {"x": [1]}}, verbose=0,
                    store=file_store)
    worker = subprocess.Popen([sys.executable, WORKER, opt.id, "--hang"],
                              env=environment(file_store), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert worker.stdout.readline().startswith("ready 1")
    yield opt, worker, file_store
    if worker.poll() is None:
        worker.kill()
        worker.wait(timeout=10)


def test_watch_redraws_in_place_and_ends_when_the_search_completes(running_search):
    opt, worker, store = running_search
    term = Terminal([*COMET, "status", opt.id, "--watch"], environment(store))
    try:
        term.read_until(lambda out: b"#1 for" in out and b"running:" in out, 30,
                        "the running experiment and its age")
        term.read_until(lambda out: b"\x1b[" in out and b"F\x1b[J" in out, 10,
                        "a redraw in place (cursor up, clear)")
        assert term.output.count(b"Search " + opt.id.encode()) >= 2
        worker.stdin.close()  # the worker ends: its experiment is aborted, the search done
        assert worker.wait(timeout=30) == 0
        term.read_until(lambda out: b"completed;" in out, 10, "the completed frame")
        assert term.process.wait(timeout=10) == 0
    finally:
        term.close()
    assert b"Traceback" not in term.output


def test_ctrl_c_stops_watching_but_not_the_search(running_search):
    opt, worker, store = running_search
    term = Terminal([*COMET, "status", opt.id, "--watch"], environment(store))
    try:
        term.read_until(lambda out: b"running:" in out, 30, "the first frame")
        os.killpg(term.process.pid, signal.SIGINT)
        term.read_until(lambda out: b"stopped watching" in out, 10, "the goodbye line")
        assert term.process.wait(timeout=10) == 0
    finally:
        term.close()
    assert worker.poll() is None, "the worker must not be touched"
    assert opt.status()["running"] == 1
    assert b"Traceback" not in term.output


def test_watch_without_a_terminal_prints_plain_lines(file_store):
    opt = Optimizer({"algorithm": "grid", "parameters": {"x": [1, 2, 3]}}, verbose=0,
                    store=file_store)
    for experiment in opt.get_experiments():
        experiment.log_metric("loss", experiment.get_parameter("x"))
    run = subprocess.run([*COMET, "status", opt.id, "--watch"], env=environment(file_store),
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 1
    assert "completed: 3/3 done (3 completed, 0 aborted, 0 failed), 0 running, best 1" \
        in lines[0]
    assert "\x1b" not in run.stdout


def test_watch_and_json_do_not_mix(file_store):
    opt = Optimizer({"algorithm": "grid", "parameters": {"x": [1]}}, verbose=0,
                    store=file_store)
    run = subprocess.run([*COMET, "status", opt.id, "--watch", "--json"],
                         env=environment(file_store), capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "--watch" in run.stderr
