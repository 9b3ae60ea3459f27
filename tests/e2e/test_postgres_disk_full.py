"""The PostgreSQL server's disk fills up during a run: the worker waits, nothing is lost.

The search's tables live in a tablespace on a real, tiny tmpfs (the session's
``default_tablespace``, as a DBA may set for a role); a filler file takes its
last byte, so the server fails to extend a table ("could not extend file ...:
No space left on device", SQLSTATE 53100). That is waited out like an outage,
with one line on stderr; the test frees the space when it reads that line
(synchronised on the worker's output, never on a sleep), and every result is
then recorded. Before, the worker died with the result in hand.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import tempfile
import urllib.parse
import uuid

import pytest

from comet_optimize import Optimizer
from tests.conftest import postgres_server_url
from tests.e2e.test_disk_full import fill

psycopg = pytest.importorskip("psycopg", reason="psycopg is in the 'postgres' extra")

COUNT = 60
WORKER = """
from comet_optimize import Optimizer
for experiment in Optimizer(verbose=0).get_experiments():
    experiment.log_metric("loss", experiment.params["x"] * 2)
print("worker done", flush=True)
"""


@pytest.fixture
def store_on_a_tiny_disk():
    """(a store URL whose tables live on a 2 MiB tmpfs, that tmpfs's folder)."""
    url = postgres_server_url()
    # Not under pytest's tmp_path: the server's user must be able to reach the folder.
    disk = pathlib.Path(tempfile.mkdtemp(prefix="comet-pg-disk."))
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=700", "tmpfs",
                            str(disk)], capture_output=True, text=True)
    if mount.returncode != 0:
        disk.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mount.stderr.strip()}")
    tag = uuid.uuid4().hex[:12]
    tablespace, schema = f"tiny_{tag}", f"t_{tag}"
    try:
        server_user = os.environ.get("COMET_OPTIMIZE_TEST_PG_USER", "")
        if os.geteuid() == 0 and server_user:
            subprocess.run(["chown", server_user, str(disk)], check=True)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE TABLESPACE {tablespace} LOCATION '{disk}'")
            conn.execute(f"CREATE SCHEMA {schema}")
        options = urllib.parse.quote(f"-csearch_path={schema} -cdefault_tablespace={tablespace}")
        yield f"{url}?options={options}", disk
    finally:
        filler = disk / "filler"
        if filler.exists():
            filler.unlink()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.execute(f"DROP TABLESPACE IF EXISTS {tablespace}")
        subprocess.run(["umount", "-l", str(disk)], check=False)
        disk.rmdir()


def start_worker(tmp_path, store: str, optimizer_id: str, wait: str) -> subprocess.Popen:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "COMET_OPTIMIZE_STORE": store, "COMET_OPTIMIZER_ID": optimizer_id,
           "COMET_OPTIMIZE_PG_RETRY": wait}
    return subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def search(store: str) -> Optimizer:
    opt = Optimizer({"algorithm": "grid", "parameters": {"x": list(range(1, COUNT + 1))},
                     "spec": {"maxCombo": COUNT, "metric": "loss"}}, verbose=0, store=store)
    first = opt.next()
    first.log_metric("loss", 2.0 * first.params["x"])
    first.end()
    return opt


def test_the_worker_waits_for_the_servers_disk_and_then_records_every_result(
        tmp_path, store_on_a_tiny_disk):
    store, disk = store_on_a_tiny_disk
    opt = search(store)
    filler = fill(disk)
    worker = start_worker(tmp_path, store, opt.id, wait="120")
    try:
        line = worker.stderr.readline()
        assert "cannot record anything in the store" in line, line + worker.stderr.read()
        assert "No space left on device" in line and "retrying for up to 120 s" in line
        os.unlink(filler)
        out, err = worker.communicate(timeout=120)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, err
    assert out.strip() == "worker done"
    assert "Traceback" not in err, err

    final = Optimizer(opt.id, verbose=0, store=store, readonly=True)
    status = final.status()
    assert (status["completed"], status["failed"], status["running"]) == (COUNT, 0, 0), status
    for experiment in final.experiments():
        assert experiment["score"] == 2.0 * experiment["parameters"]["x"], experiment


def test_with_no_wait_the_worker_stops_in_one_sentence(tmp_path, store_on_a_tiny_disk):
    store, disk = store_on_a_tiny_disk
    opt = search(store)
    fill(disk)
    worker = start_worker(tmp_path, store, opt.id, wait="0")
    out, err = worker.communicate(timeout=120)
    assert worker.returncode != 0
    assert "could not record anything for 0 s" in err and "No space left on device" in err
    status = Optimizer(opt.id, verbose=0, store=store, readonly=True).status()
    assert status["damage"] == [] and status["completed"] >= 1
