"""Through a connection pooler (a real PgBouncer): session mode works; transaction mode is
refused in one sentence that says why.

The store prepares its statements once per connection. PgBouncer in session
mode keeps one server session per client, so that holds (and its reset query
drops them when the client leaves). In transaction mode each transaction may
run on any server session: a statement prepared on one is missing on the next
or is there already from another client. That was one sentence, but a cryptic
one ('prepared statement "comet_optimize_new" already exists').
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from comet_optimize import Optimizer
from tests.conftest import postgres_server_url

pytest.importorskip("psycopg", reason="psycopg is in the 'postgres' extra")

WORKER = """
from comet_optimize import Optimizer
for experiment in Optimizer().get_experiments():
    experiment.log_metric("loss", (experiment.params["x"] - 0.2) ** 2)
"""
CONFIG = {"algorithm": "random", "parameters": {"x": {"type": "float", "min": 0, "max": 1}},
          "spec": {"metric": "loss", "maxCombo": 20, "seed": 3}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def pooler(monkeypatch):
    """``start(mode)``: a PgBouncer in front of the test server, in a schema of its own;
    its URL (the password in PGPASSWORD)."""
    import psycopg

    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not os.path.exists(binary):
        if os.environ.get("CI") == "true":
            pytest.fail("pgbouncer is missing (.ci/run installs it)")
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer)")
    server = urlsplit(postgres_server_url())
    # A role of its own whose searches live in a schema of their own: PgBouncer resets
    # each session a client leaves (DISCARD ALL), which keeps a role's settings only.
    name, password = f"t_{uuid.uuid4().hex[:16]}", uuid.uuid4().hex
    with psycopg.connect(postgres_server_url(), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
        conn.execute(f"CREATE SCHEMA {name} AUTHORIZATION {name}")
        conn.execute(f"ALTER ROLE {name} SET search_path TO {name}")
    monkeypatch.setenv("PGPASSWORD", password)
    started: list[subprocess.Popen] = []
    folders: list[Path] = []
    as_root = os.geteuid() == 0  # PgBouncer refuses to run as root

    def start(mode: str, pool_size: int) -> str:
        port = free_port()
        # Its own folder, which the postgres user can reach (pytest's are private).
        folder = Path(tempfile.mkdtemp(prefix=f"pgbouncer-{mode}-"))
        folders.append(folder)
        folder.chmod(0o755)
        (folder / "users.txt").write_text(f'"{name}" "{password}"\n')
        (folder / "pgbouncer.ini").write_text(
            f"[databases]\npooled = host={server.hostname} port={server.port} "
            f"dbname={server.path.lstrip('/')}\n"
            f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\n"
            f"unix_socket_dir =\nauth_type = plain\nauth_file = {folder / 'users.txt'}\n"
            f"pool_mode = {mode}\ndefault_pool_size = {pool_size}\nmax_client_conn = 50\n")
        command = [binary, str(folder / "pgbouncer.ini")]
        if as_root:
            shutil.chown(folder, "postgres")
            for item in folder.iterdir():
                shutil.chown(item, "postgres")
            command = ["runuser", "-u", "postgres", "--", *command]
        with open(folder / "output.txt", "w") as output:
            started.append(subprocess.Popen(command, stdout=output, stderr=output,
                                            start_new_session=True))
        deadline = time.monotonic() + 30
        while True:  # until it listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert started[-1].poll() is None, (folder / "output.txt").read_text()
                assert time.monotonic() < deadline, "pgbouncer did not listen in 30 s"
                time.sleep(0.05)
        return f"postgresql://{name}@127.0.0.1:{port}/pooled"

    yield start
    for process in started:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    with psycopg.connect(postgres_server_url(), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {name} CASCADE")
        conn.execute(f"DROP ROLE {name}")
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_search_runs_through_pgbouncer_in_session_mode(pooler, tmp_path):
    # Session mode holds a server session per client: 2 per process (the store's and the
    # journal's connections), launcher included.
    url = pooler("session", pool_size=6)
    (tmp_path / "train.py").write_text(WORKER)
    (tmp_path / "opt.config").write_text(json.dumps(CONFIG))
    run = subprocess.run([sys.executable, "-m", "comet_optimize", "optimize", "-j", "2",
                          "train.py", "opt.config", "--store", url], cwd=tmp_path,
                         text=True, capture_output=True, timeout=300)
    assert run.returncode == 0, run.stderr
    search = Optimizer(CONFIG, store=url, verbose=0)  # a new search: the one run is listed
    done = [one for one in search._store.list_ids() if one != search.id]
    status = Optimizer(done[0], store=url, verbose=0).status()
    assert (status["completed"], status["status"]) == (20, "completed")


def test_transaction_mode_is_refused_in_one_sentence_that_names_it(pooler, tmp_path):
    url = pooler("transaction", pool_size=1)
    opt = Optimizer(CONFIG, store=url, verbose=0)
    opt.status()  # its statements are now prepared on the pool's one server session
    (tmp_path / "train.py").write_text(WORKER)
    run = subprocess.run([sys.executable, "-m", "comet_optimize", "optimize", "-j", "2",
                          "train.py", opt.id, "--store", url], cwd=tmp_path, text=True,
                         capture_output=True, timeout=120)
    assert run.returncode != 0
    assert "transaction mode" in run.stderr and "session mode" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1
