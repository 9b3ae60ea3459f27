"""Settings a DBA gives a role or database do not cost a single result.

A shared PostgreSQL server often sets defaults for every session of a role:
serializable transactions, a statement timeout, an idle-in-transaction timeout.
They arrive here the way a role's settings do, at the session's start (libpq's
``options``). Before our sessions set their own, a serializable default failed
writes ("could not serialize access"), an idle-in-transaction timeout shorter
than a decision killed the session mid-decision until the worker gave up, and a
statement timeout was waited out as an outage: each time a finished result was
lost with the worker.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from comet_optimize import Optimizer
from tests.conftest import with_session_setting

pytest.importorskip("psycopg", reason="psycopg is in the 'postgres' extra")

WORKER = """
import sys
from comet_optimize import Optimizer

opt = Optimizer(sys.argv[1], verbose=0)
for experiment in opt.get_experiments():
    experiment.log_metric("loss", (experiment.params["x"] - 0.3) ** 2 + experiment.params["y"])
"""

CONFIG = {"algorithm": "bayes",
          "parameters": {"x": {"type": "float", "min": 0.0, "max": 1.0},
                         "y": {"type": "float", "min": 0.0, "max": 1.0}},
          "spec": {"metric": "loss", "objective": "minimize", "maxCombo": 24}}


def run_script(tmp_path, code: str, optimizer_id: str, store: str, jobs: int = 2,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``comet optimize -j JOBS train.py ID --store STORE``, ``train.py`` holding ``code``."""
    script = tmp_path / "train.py"
    script.write_text(code)
    return subprocess.run(
        [sys.executable, "-m", "comet_optimize.cli", "optimize", "-j", str(jobs), str(script),
         optimizer_id, "--store", store],
        capture_output=True, text=True, env=env, timeout=240)


@pytest.mark.parametrize("setting", [
    "default_transaction_isolation=serializable",
    "idle_in_transaction_session_timeout=5",
    "statement_timeout=1",
])
def test_a_roles_session_defaults_lose_no_result(postgres_store, tmp_path, setting):
    store = with_session_setting(postgres_store, setting)
    optimizer_id = Optimizer(CONFIG, store=postgres_store, verbose=0).id
    run = run_script(tmp_path, WORKER, optimizer_id, store, jobs=4,
                     env={**os.environ, "COMET_OPTIMIZE_PG_RETRY": "5"})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    experiments = Optimizer(optimizer_id, store=postgres_store, verbose=0).experiments()
    assert len(experiments) == 24
    assert {experiment["status"] for experiment in experiments} == {"completed"}
    assert all(experiment["score"] is not None for experiment in experiments)


SLOW_WORKER = """
import sys, time
from comet_optimize import Optimizer

for experiment in Optimizer(sys.argv[1], verbose=0).get_experiments():
    time.sleep(0.6)  # the experiment's work: longer than the role's idle limit
    experiment.log_metric("loss", experiment.params["x"])
"""


def test_a_roles_idle_session_timeout_is_no_outage(postgres_store, tmp_path):
    """A role's idle_session_timeout (PostgreSQL 14) ended our sessions while a worker
    waited for its script; every experiment then said "lost the connection"."""
    store = with_session_setting(postgres_store, "idle_session_timeout=200")
    optimizer_id = Optimizer(CONFIG | {"algorithm": "random"}, store=postgres_store,
                             verbose=0).id
    run = run_script(tmp_path, SLOW_WORKER, optimizer_id, store)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "lost the connection" not in run.stdout + run.stderr, run.stdout + run.stderr
    experiments = Optimizer(optimizer_id, store=postgres_store, verbose=0).experiments()
    assert [experiment["status"] for experiment in experiments] == ["completed"] * 24


def _role_that_may(postgres_store: str, privileges: str) -> str:
    """A new role, given ``privileges`` on the search's tables; its URL."""
    import urllib.parse
    import uuid

    import psycopg
    from psycopg import sql

    role = f"reader_{uuid.uuid4().hex[:12]}"
    schema = urllib.parse.unquote(postgres_store.split("search_path%3D")[1])
    with psycopg.connect(postgres_store, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
            sql.Identifier(role), sql.Literal(os.environ["PGPASSWORD"])))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
            sql.Identifier(schema), sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT {} ON ALL TABLES IN SCHEMA {} TO {}").format(
            sql.SQL(privileges), sql.Identifier(schema), sql.Identifier(role)))
    parts = urllib.parse.urlsplit(postgres_store)
    return urllib.parse.urlunsplit(parts._replace(
        netloc=f"{role}@{parts.hostname}:{parts.port}"))


@pytest.mark.parametrize("how", ["read-only by default", "no privilege to write",
                                 "no privilege to update"])
def test_a_store_that_takes_no_writes_is_refused_before_any_worker(postgres_store, tmp_path,
                                                                   how):
    """A role whose sessions are read-only, or that may only read the tables, let the
    launcher attach the search, then every worker died at its first write with a
    traceback."""
    optimizer_id = Optimizer(CONFIG, store=postgres_store, verbose=0).id
    if how == "read-only by default":
        store = with_session_setting(postgres_store, "default_transaction_read_only=on")
        reason = "cannot execute INSERT in a read-only transaction"
    elif how == "no privilege to write":
        store = _role_that_may(postgres_store, "SELECT")
        reason = "permission denied for table comet_optimize_heartbeats"
    else:  # an append-only grant: the check's heartbeat once needed no UPDATE, a worker's does
        store = _role_that_may(postgres_store, "SELECT, INSERT")
        reason = "permission denied for table comet_optimize_heartbeats"
    run = run_script(tmp_path, WORKER, optimizer_id, store)
    assert run.returncode == 2, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.stderr.strip().splitlines()[-1].endswith(
        f"refused to let a worker write: {reason}: workers could not record results, so "
        f"none was started"), run.stderr
    assert "Traceback" not in run.stdout + run.stderr and "[w0]" not in run.stdout
    assert Optimizer(optimizer_id, store=postgres_store, verbose=0).experiments() == []
