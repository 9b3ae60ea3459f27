"""A PostgreSQL connection whose descriptor number the script reused is never written to
or closed by us, not when the journal is closed, nor when the interpreter exits.

A daemonizing library closes every descriptor, and the next file the script opens
takes the number libpq holds. Closing the journal (as a rebuild does) sent libpq's
goodbye message into the script's socket and closed it; a connection set aside for
that reason was still finalised at exit, with the same result.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("psycopg", reason="psycopg is in the 'postgres' extra")

PEER = """
import os, socket, sys
from comet_optimize import Optimizer
from comet_optimize.store import open_store, postgres

url = sys.argv[1]
opt = Optimizer({"algorithm": "random", "spec": {"metric": "loss"},
                 "parameters": {"x": {"type": "float", "min": 0, "max": 1}}},
                store=url, verbose=0)
journal = open_store(url).journal(opt.id)
journal.read_new()
number = journal._db._conn.fileno()
mine, theirs = socket.socketpair()
if os.fork() == 0:  # what reaches the other end of the script's socket, until it closes
    mine.close()
    received = b""
    while chunk := theirs.recv(100):
        received += chunk
    print("received", received, flush=True)
    os._exit(0)
theirs.close()
os.dup2(mine.fileno(), number)  # the script's own socket now has libpq's number
mine.close()
if sys.argv[2] == "close":
    journal.close()
else:
    journal.read_new()  # sees the number is not its socket: sets it aside, reconnects
os.write(number, b"script data;")
os.fstat(number)  # still open
print("script done", flush=True)
"""


@pytest.mark.parametrize("how", ["close", "exit"])
def test_a_reused_descriptor_is_never_written_to_or_closed(postgres_store, how):
    run = subprocess.run([sys.executable, "-c", PEER, postgres_store, how],
                         capture_output=True, text=True, timeout=120, env=os.environ)
    assert run.returncode == 0, run.stderr
    assert "script done" in run.stdout
    assert "received b'script data;'" in run.stdout, run.stdout  # nothing of libpq's
