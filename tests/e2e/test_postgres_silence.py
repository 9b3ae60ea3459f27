"""A PostgreSQL server that stops answering mid-statement is noticed, said, and waited out.

A server whose processes are stopped (SIGSTOP, a suspended virtual machine)
keeps its connections open and its kernel acknowledges what is sent, so a
worker that had sent a result waited for the answer for ever and said nothing
(a drill froze every server process for 30 s: the workers sat silent). A lost
direction of the network path does the same. The test's relay (`tests.pg_relay`)
plays both: it holds every byte, or only the server's replies on the
connections open at that moment.
"""

from __future__ import annotations

import os
import queue
import resource
import subprocess
import sys
import threading

import pytest

from comet_optimize import Optimizer
from tests.conftest import stored_events
from tests.pg_relay import Relay

pytest.importorskip("psycopg", reason="psycopg is in the 'postgres' extra")

WORKER = """
import os, resource, sys
from comet_optimize import Optimizer
if os.environ.get("HOLD_DESCRIPTORS"):  # the store's sockets then get numbers over 1,024
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
for experiment in Optimizer().get_experiments():
    experiment.log_metric("loss", experiment.params["x"])
    if experiment.params["x"] == 2:
        print("holding", flush=True)
        sys.stdin.readline()
print("finished", flush=True)
"""
CONFIG = {"algorithm": "grid", "parameters": {"x": [1, 2, 3]}, "spec": {"metric": "loss"}}
SAID = "no answer from the server for 1 s"


class Lines:
    """The lines of a stream, read by a thread, waited for with a deadline."""

    def __init__(self, stream):
        self.seen: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            self._lines.put(line)
        self._lines.put(None)

    def until(self, text: str, timeout: float = 90) -> None:
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {text!r} in {timeout} s; so far: {self.seen}") from None
            if line is None:
                raise AssertionError(f"the stream ended without {text!r}: {self.seen}")
            self.seen.append(line)
            if text in line:
                return

    def rest(self) -> str:
        while (line := self._lines.get(timeout=90)) is not None:
            self.seen.append(line)
        return "".join(self.seen)


@pytest.mark.parametrize("fault", ["frozen server", "replies lost",
                                   "frozen server, 1,100 descriptors held"])
def test_a_silent_server_is_said_and_waited_out(postgres_store, fault):
    if "descriptors" in fault and resource.getrlimit(resource.RLIMIT_NOFILE)[1] < 1200:
        pytest.skip("the hard limit on open files is under 1,200")
    opt = Optimizer(CONFIG, store=postgres_store, verbose=0)
    relay = Relay()
    env = {**os.environ, "COMET_OPTIMIZE_STORE": relay.url(postgres_store),
           "COMET_OPTIMIZER_ID": opt.id, "COMET_OPTIMIZE_PG_SILENCE": "1",
           "COMET_OPTIMIZE_PG_RETRY": "120",
           "HOLD_DESCRIPTORS": "1" if "descriptors" in fault else ""}
    worker = subprocess.Popen([sys.executable, "-c", WORKER], env=env, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    try:
        out, err = Lines(worker.stdout), Lines(worker.stderr)
        out.until("holding")
        relay.hold_replies() if fault == "replies lost" else relay.freeze()
        worker.stdin.write("\n")  # #2 ends now: its result goes to a server that is silent
        worker.stdin.flush()
        err.until(SAID)
        relay.thaw()
        out.until("finished")
        assert worker.wait(timeout=90) == 0, err.rest()
    finally:
        worker.kill()
        worker.wait()
        relay.close()
    assert "Traceback" not in err.rest()
    status = Optimizer(opt.id, store=postgres_store, verbose=0).status()
    assert (status["completed"], status["status"]) == (3, "completed")
    ends = [event for event in stored_events(postgres_store, opt.id) if event["type"] == "end"]
    assert sorted(event["count"] for event in ends) == [1, 2, 3]  # each result once
