"""Shared fixtures: every test gets its own store and a clean environment.

The ``store`` fixture runs each store-dependent test twice: against a fresh
folder and against a fresh schema of a real PostgreSQL server (the one
``.ci/with-postgres`` starts, named by ``COMET_OPTIMIZE_TEST_PG``). Without a
server the PostgreSQL half skips with the reason shown; in CI it fails.
Tests about the folder layout itself ask for ``file_store``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.parse
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PG_URL_VARIABLE = "COMET_OPTIMIZE_TEST_PG"


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path, monkeypatch):
    """No test may see a real ~/.comet_optimize or an id left in the environment."""
    monkeypatch.delenv("COMET_OPTIMIZER_ID", raising=False)
    monkeypatch.setenv("COMET_OPTIMIZE_STORE", str(tmp_path / "default-store"))
    monkeypatch.setenv("COMET_OPTIMIZE_LOGS", str(tmp_path / "logs"))  # a database's logs


def stored_events(store: str, optimizer_id: str) -> list[dict]:
    """Every event of a search, in order, from either kind of store."""
    from comet_optimize.store import open_store

    journal = open_store(store).journal(optimizer_id, readonly=True)
    try:
        return journal.read_new()
    finally:
        journal.close()


def heartbeat_names(store: str, optimizer_id: str) -> list[str]:
    """The workers that have a heartbeat in a search, from either kind of store."""
    if store.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(store, autocommit=True) as conn:
            return [row[0] for row in conn.execute(
                "SELECT worker FROM comet_optimize_heartbeats WHERE search = %s",
                (optimizer_id,))]
    folder = os.path.join(store, optimizer_id, "heartbeats")
    return os.listdir(folder) if os.path.isdir(folder) else []


def age_heartbeat(store: str, optimizer_id: str, worker: str, seconds: float = 10_000) -> None:
    """Make a worker's last heartbeat ``seconds`` old, on the clock its store judges by."""
    if store.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(store, autocommit=True) as conn:
            conn.execute("UPDATE comet_optimize_heartbeats SET beat = now() - "
                         "make_interval(secs => %s) WHERE search = %s AND worker = %s",
                         (seconds, optimizer_id, worker))
        return
    stale = time.time() - seconds
    os.utime(os.path.join(store, optimizer_id, "heartbeats", worker), (stale, stale))


def log_folder(store: str, optimizer_id: str) -> str:
    """Where the launcher put the per-worker logs of a search (a local folder either way)."""
    from comet_optimize.store import open_store

    return open_store(store).log_folder(optimizer_id)


def asset_files(root: str) -> dict[str, str]:
    """Every file under ``root`` (an experiments' folder): path relative to it -> content."""
    found = {}
    for folder, _, names in os.walk(root):
        for name in names:
            with open(os.path.join(folder, name)) as handle:
                found[os.path.relpath(os.path.join(folder, name), root)] = handle.read()
    return found


def with_session_setting(url: str, setting: str) -> str:
    """The URL with ``-c setting`` added to libpq's options, as a role's setting would be."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    options = query.get("options", [""])[0]
    query["options"] = [f"{options} -c{setting}".strip()]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(
        query, doseq=True, quote_via=urllib.parse.quote)))


def postgres_server_url() -> str:
    """The test server's URL (with its password), or skip (fail in CI) without one."""
    url = os.environ.get(PG_URL_VARIABLE)
    if not url:
        reason = (f"no PostgreSQL server: {PG_URL_VARIABLE} is not set "
                  f"(run the tests through .ci/with-postgres)")
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        message = "psycopg is missing: pip install -e '.[test,postgres]'"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


def split_password(url: str) -> tuple[str, str | None]:
    """(the URL without its password, the password)."""
    scheme, _, rest = url.partition("://")
    netloc, slash, tail = rest.partition("/")
    if "@" not in netloc or ":" not in netloc.split("@", 1)[0]:
        return url, None
    userinfo, host = netloc.rsplit("@", 1)
    user, password = userinfo.split(":", 1)
    return f"{scheme}://{user}@{host}{slash}{tail}", password


def fresh_postgres_store(monkeypatch) -> str:
    """A URL whose searches live in a new, empty schema; the password goes in PGPASSWORD.

    Keeping the password out of the URL lets a test compare what is printed
    with the URL it used (a password is never printed), and exercises libpq's
    environment variables.
    """
    import psycopg

    url = postgres_server_url()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    bare, password = split_password(url)
    if password is not None:
        monkeypatch.setenv("PGPASSWORD", password)
    separator = "&" if "?" in bare else "?"
    return f"{bare}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["file", "postgres"])
def store(request, tmp_path, monkeypatch) -> str:
    """A fresh, empty store for one test: a folder, or a PostgreSQL schema."""
    if request.param == "postgres":
        return fresh_postgres_store(monkeypatch)
    return str(tmp_path / "store")


@pytest.fixture
def file_store(tmp_path) -> str:
    """A fresh store folder, for tests about the folder layout itself."""
    return str(tmp_path / "store")


@pytest.fixture
def postgres_store(monkeypatch) -> str:
    """A fresh PostgreSQL schema, for tests of the PostgreSQL store alone."""
    return fresh_postgres_store(monkeypatch)


@pytest.fixture
def python() -> str:
    return sys.executable


def launch(tmp_path, script: str, config: dict, store: str,
           jobs: int = 2) -> subprocess.CompletedProcess:
    """``comet optimize -j JOBS train.py opt.config`` run in ``tmp_path`` on ``store``, as
    a user runs a script of theirs; it must exit 0."""
    (tmp_path / "train.py").write_text(script)
    (tmp_path / "opt.config").write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if k != "COMET_OPTIMIZER_ID"}
    env["COMET_OPTIMIZE_STORE"] = store
    run = subprocess.run([sys.executable, "-m", "comet_optimize.cli", "optimize", "-j",
                          str(jobs), "train.py", "opt.config"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return run
