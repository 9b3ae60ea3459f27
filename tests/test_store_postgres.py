"""The PostgreSQL store on a real server: the contract, schema, credentials, forks, outages.

Each test gets a fresh schema (``postgres_store``) of the server that
``.ci/with-postgres`` starts; without one they skip with the reason shown.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from comet_optimize import Optimizer, OptimizerException
from comet_optimize.events import SCHEMA_VERSION
from comet_optimize.store import JournalConflict, new_optimizer_id, open_store
from tests.conftest import asset_files, postgres_server_url, split_password, with_session_setting

psycopg = pytest.importorskip("psycopg", reason="psycopg is in the 'postgres' extra")


def sql(url: str, statement: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def comet(*args: str, env: dict[str, str] | None = None, timeout: float = 120
          ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "comet_optimize.cli", *args],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def with_password(url: str) -> str:
    """The fixture's URL with the test server's password put back in."""
    _, password = split_password(postgres_server_url())
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user}:{password}@{host}"


# -- the contract


def test_create_list_and_read_config(postgres_store):
    store = open_store(postgres_store)
    assert store.list_ids() == []  # a fresh schema: no tables yet, nothing created by reading
    assert sql(postgres_store, "SELECT to_regclass('comet_optimize_events')") == [(None,)]
    ids = [new_optimizer_id() for _ in range(3)]
    for number, optimizer_id in enumerate(ids):
        store.create(optimizer_id, {"n": number, "nested": {"x": [1.5, None]}})
    assert store.list_ids() == ids  # oldest first
    assert store.exists(ids[1]) and not store.exists(new_optimizer_id())
    assert store.read_config(ids[2]) == {"n": 2, "nested": {"x": [1.5, None]}}
    with pytest.raises(OptimizerException, match="not found in the store"):
        store.read_config(new_optimizer_id())
    with pytest.raises(OptimizerException, match="invalid optimizer id"):
        store.exists("../etc")


def test_each_reader_reads_only_what_is_new_in_order(postgres_store):
    store = open_store(postgres_store)
    optimizer_id = new_optimizer_id()
    store.create(optimizer_id, {})
    writer, other = store.journal(optimizer_id), store.journal(optimizer_id)
    reader = store.journal(optimizer_id, readonly=True)
    with writer.locked() as new:
        assert new == []
        writer.append([{"type": "a"}, {"type": "b"}])
    with other.locked() as new:
        assert [e["type"] for e in new] == ["a", "b"]
        other.append([{"type": "c", "x": 0.1}])
    assert [e["type"] for e in reader.read_new()] == ["a", "b", "c"]
    assert reader.read_new() == []
    assert [e["type"] for e in writer.read_new()] == ["c"]  # not its own events again
    assert all(e["v"] == 1 for e in [*reader.read_new(), *store.journal(optimizer_id).read_new()])
    with pytest.raises(OptimizerException, match="read-only"):
        with reader.locked():
            pass


def test_an_exception_inside_locked_writes_nothing(postgres_store):
    store = open_store(postgres_store)
    optimizer_id = new_optimizer_id()
    store.create(optimizer_id, {})
    journal = store.journal(optimizer_id)
    with pytest.raises(RuntimeError):
        with journal.locked():
            journal.append([{"type": "lost"}])
            raise RuntimeError("the decision failed")
    with journal.locked():
        journal.append([{"type": "kept"}])
    events = store.journal(optimizer_id, readonly=True).read_new()
    assert [e["type"] for e in events] == ["kept"]


@pytest.mark.parametrize("role_default", [None, "synchronous_commit=off"])
def test_append_returns_only_once_its_events_are_on_disk(postgres_store, role_default):
    """The commit inside the lock does not wait for the disk; the flush after it must,
    even where the role's sessions default to not waiting (``synchronous_commit=off``).

    A flush that writes nothing to the log commits without waiting: the server's
    write-ahead log would then be flushed only up to some earlier point. The check
    finds our own commit record in the log (``pg_walinspect``): comparing the flush
    position with the server's insert position would also count records that
    background processes write meanwhile, which nobody waits for.
    """
    store = open_store(postgres_store if role_default is None
                       else with_session_setting(postgres_store, role_default))
    optimizer_id = new_optimizer_id()
    store.create(optimizer_id, {})
    journal = store.journal(optimizer_id)
    behind = []
    with psycopg.connect(postgres_server_url(), autocommit=True) as probe:
        probe.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
        for number in range(30):
            (before,) = probe.execute("SELECT pg_current_wal_insert_lsn()").fetchone()
            with journal.locked():
                journal.append([{"type": "n", "n": number}])
            (flushed,) = probe.execute("SELECT pg_current_wal_flush_lsn()").fetchone()
            (xid,) = sql(postgres_store, "SELECT xmin::text FROM comet_optimize_events "
                         "WHERE search = %s ORDER BY seq DESC LIMIT 1", (optimizer_id,))[0]
            commits = [] if flushed <= before else probe.execute(
                "SELECT end_lsn FROM pg_get_wal_records_info(%s, %s) "
                "WHERE resource_manager = 'Transaction' AND record_type LIKE 'COMMIT%%' "
                "AND xid::text = %s", (before, flushed, xid)).fetchall()
            if not commits:
                behind.append((number, before, flushed, xid))
    assert behind == []


def test_a_row_that_is_not_an_event_is_reported_as_damage(postgres_store):
    store = open_store(postgres_store)
    optimizer_id = new_optimizer_id()
    store.create(optimizer_id, {})
    journal = store.journal(optimizer_id)
    with journal.locked():
        journal.append([{"type": "a"}])
    sql(postgres_store, "INSERT INTO comet_optimize_events (search, batch, body) "
        "VALUES (%s, gen_random_uuid(), '{not json')", (optimizer_id,))
    with journal.locked():
        journal.append([{"type": "b"}])
    reader = store.journal(optimizer_id, readonly=True)
    assert [e["type"] for e in reader.read_new()] == ["a", "b"]
    assert len(reader.damage) == 1 and "JSON" in reader.damage[0].reason


@pytest.mark.parametrize("encoding", ["UTF8", "LATIN1"])
def test_text_beyond_ascii_reads_back_in_any_client_encoding(postgres_store, monkeypatch,
                                                             encoding):
    """Events come back as bytes in the connection's encoding, not always UTF-8."""
    store = open_store(postgres_store)
    optimizer_id = new_optimizer_id()
    store.create(optimizer_id, {})
    journal = store.journal(optimizer_id)
    with journal.locked():
        journal.append([{"type": "a", "name": "caf\u00e9"}])
    sql(postgres_store, "INSERT INTO comet_optimize_events (search, batch, body) VALUES "
        "(%s, gen_random_uuid(), '{\"v\": 1, \"type\": \"b\", \"name\": \"th\u00e9\"}')",
        (optimizer_id,))
    monkeypatch.setenv("PGCLIENTENCODING", encoding)
    reader = open_store(postgres_store).journal(optimizer_id, readonly=True)
    assert [e["name"] for e in reader.read_new()] == ["caf\u00e9", "th\u00e9"]
    assert reader.damage == []


def test_heartbeats_are_judged_on_the_servers_clock(postgres_store):
    store = open_store(postgres_store)
    optimizer_id = new_optimizer_id()
    store.create(optimizer_id, {})
    store.beat(optimizer_id, "host-a-12-3.00")
    assert not store.lease_lapsed(optimizer_id, "host-a-12-3.00", 60.0, assigned_at=0.0)
    # A worker that never beat is judged from its assignment time.
    assert not store.lease_lapsed(optimizer_id, "host-b-1-1.00", 60.0, assigned_at=time.time())
    assert store.lease_lapsed(optimizer_id, "host-b-1-1.00", 60.0, assigned_at=time.time() - 600)
    # The beat is the server's now(): age it there, and a fresh store object sees it lapsed.
    sql(postgres_store, "UPDATE comet_optimize_heartbeats SET beat = now() - interval '2 minutes'")
    assert open_store(postgres_store).lease_lapsed(optimizer_id, "host-a-12-3.00", 60.0, 0.0)
    assert not open_store(postgres_store).lease_lapsed(optimizer_id, "host-a-12-3.00", 600.0,
                                                       0.0)


# -- the schema


def _create_one(url: str, number: int, barrier, results) -> None:
    try:
        barrier.wait(timeout=120)
        store = open_store(url)  # all 50 find no tables and race to create them
        optimizer_id = new_optimizer_id()
        store.create(optimizer_id, {"process": number})
        journal = store.journal(optimizer_id)
        with journal.locked():
            journal.append([{"type": "created"}])
        results.put((number, optimizer_id))
    except BaseException as error:  # noqa: BLE001 - reported to the test
        results.put((number, f"error: {error!r}"))


def test_fifty_processes_create_the_tables_at_once(postgres_store):
    import multiprocessing

    context = multiprocessing.get_context("fork")  # 50 interpreter start-ups would take a minute
    barrier, results = context.Barrier(50), context.Queue()
    processes = [context.Process(target=_create_one, args=(postgres_store, n, barrier, results))
                 for n in range(50)]
    for process in processes:
        process.start()
    outcomes = dict(results.get(timeout=180) for _ in processes)
    for process in processes:
        process.join(timeout=60)
    assert [v for v in outcomes.values() if v.startswith("error")] == []
    assert [p.exitcode for p in processes] == [0] * 50
    store = open_store(postgres_store)
    assert set(store.list_ids()) == set(outcomes.values()) and len(outcomes) == 50
    assert sql(postgres_store, "SELECT key, value FROM comet_optimize_meta") == [
        ("schema_version", "1")]


def test_a_schema_from_the_future_is_refused_clearly(postgres_store):
    store = open_store(postgres_store)
    store.create(new_optimizer_id(), {})
    sql(postgres_store, "UPDATE comet_optimize_meta SET value = '2' "
        "WHERE key = 'schema_version'")
    with pytest.raises(OptimizerException, match="schema version 2, newer than this "
                                                 "comet_optimize understands"):
        open_store(postgres_store).list_ids()
    run = comet("optimize", "list", "--store", postgres_store)
    assert run.returncode == 2
    assert len(run.stderr.strip().splitlines()) == 1 and "upgrade comet_optimize" in run.stderr


def test_an_event_from_a_newer_journal_schema_is_refused_not_misread(postgres_store):
    """As in the file store: a reader stops at an event a newer comet_optimize wrote (it
    was skipped as damage, so a worker decided without what it meant)."""
    opt = Optimizer({"algorithm": "grid", "parameters": {"x": [1, 2, 3]}}, verbose=0,
                    store=postgres_store)
    opt.next().end()
    sql(postgres_store, "INSERT INTO comet_optimize_events (search, batch, body) VALUES "
        "(%s, gen_random_uuid(), %s)",
        (opt.id, f'{{"v": {SCHEMA_VERSION + 1}, "type": "assign", "count": 2}}'))
    for args in (("status", opt.id), ("export", opt.id)):
        run = comet("optimize", *args, "--store", postgres_store)
        assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert "written by a newer comet_optimize" in run.stderr
        assert f"journal schema {SCHEMA_VERSION + 1}" in run.stderr
    with pytest.raises(OptimizerException, match="written by a newer comet_optimize"):
        opt.next()  # a worker already attached stops too, at its next read
    assert [e["v"] for e in open_store(postgres_store).journal(opt.id, readonly=True)
            ._fold([(1, '{"v": 2, "type": "start"}')])] == [2]  # what we know, read


# -- credentials


def test_the_password_is_never_in_the_location(postgres_store):
    url = with_password(postgres_store)
    password = split_password(url)[1]
    store = open_store(url)
    assert password not in store.location and password not in repr(store)
    assert store.location == postgres_store
    in_query = postgres_store + f"&password={password}&sslmode=prefer"
    assert password not in open_store(in_query).location
    assert "sslmode=prefer" in open_store(in_query).location


def test_a_wrong_password_is_one_line_without_the_password(postgres_store, monkeypatch):
    monkeypatch.delenv("PGPASSWORD")
    wrong = with_password(postgres_store).replace("://postgres:", "://postgres:Wr0ngSecret")
    with pytest.raises(OptimizerException, match="password authentication failed") as caught:
        open_store(wrong)
    assert "Wr0ngSecret" not in str(caught.value)
    run = comet("optimize", "list", "--store", wrong)
    assert run.returncode == 2, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert "password authentication failed" in run.stderr
    assert "Wr0ngSecret" not in run.stderr + run.stdout


def test_a_short_password_is_hidden_without_mangling_the_message_or_showing_where_it_was():
    """Every occurrence of the password was replaced: with a one-letter password, the
    message read "***ort 1 failed ... acce***ting", which also told where its letter
    was. A URI that libpq echoes whole hides any password it holds."""
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = comet("optimize", "list", "--store", f"postgresql://someone:p@127.0.0.1:{port}/db",
                timeout=60)
    assert run.returncode == 2, run.stderr
    assert f"port {port} failed" in run.stderr and "***" not in run.stderr, run.stderr
    echoed = comet("optimize", "list", "--store", "postgresql://someone:Tr0ub4dor@[::1/db",
                   timeout=60)
    assert echoed.returncode == 2, echoed.stderr
    assert "Tr0ub4dor" not in echoed.stderr and "IPv6" in echoed.stderr, echoed.stderr
    assert len(echoed.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("secret", ["Kq7/Wx9", "Kq7@Wx9", "Kq7?Wx9", "Kq7#Wx9"])
def test_a_password_with_a_raw_url_character_is_refused_without_showing_it(secret):
    """A raw '/' '?' '#' or '@' splits the URL elsewhere: the printed URL kept part of
    the password ("postgresql://bob:Kq7/Wx9@..." printed whole) and libpq named part of
    it as the host."""
    run = comet("optimize", "list", "--store", f"postgresql://bob:{secret}@127.0.0.1:1/db",
                timeout=60)
    assert run.returncode == 2, run.stderr
    assert "percent-encoded" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert not any(part in run.stderr for part in ("Kq7", "Wx9")), run.stderr


def test_a_server_that_is_down_at_start_is_one_line_and_exit_2(tmp_path):
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://someone:Secret123@127.0.0.1:{port}/db"
    config = tmp_path / "opt.config"
    config.write_text(json.dumps({"algorithm": "random", "parameters": {"x": [1, 2]}}))
    for args in (["optimize", "list", "--store", url],
                 ["optimize", "--store", url, str(config)],
                 ["optimize", "status", "0" * 32, "--store", url]):
        run = comet(*args, timeout=60)
        assert run.returncode == 2, run.stderr
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and "cannot connect to the store" in lines[0], run.stderr
        assert "Secret123" not in run.stderr + run.stdout


def test_a_missing_driver_is_one_line_saying_what_to_install(postgres_store):
    script = ("import sys; sys.modules['psycopg'] = None\n"
              "from comet_optimize.cli.main import main\n"
              "main(['optimize', 'list', '--store', sys.argv[1]])")
    run = subprocess.run([sys.executable, "-c", script, postgres_store],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "Error: a postgresql:// store needs psycopg 3: pip install 'comet_optimize[postgres]'"]


# -- forks and outages


def test_a_forked_child_reconnects_and_the_parent_keeps_its_connection(postgres_store):
    store = open_store(postgres_store)
    optimizer_id = new_optimizer_id()
    store.create(optimizer_id, {})
    journal = store.journal(optimizer_id)
    with journal.locked():
        journal.append([{"type": "parent"}])
    child = os.fork()
    if child == 0:  # the child uses the inherited objects, then exits without cleanup
        code = 1
        try:
            with journal.locked():
                journal.append([{"type": "child"}])
            store.beat(optimizer_id, "child")
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with journal.locked() as new:  # the parent's own connection still works
        assert [e["type"] for e in new] == ["child"]
        journal.append([{"type": "parent again"}])
    assert store.exists(optimizer_id)
    events = store.journal(optimizer_id, readonly=True).read_new()
    assert [e["type"] for e in events] == ["parent", "child", "parent again"]


def _terminate_backends(url: str) -> int:
    return len(sql(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE starts_with(application_name, 'comet_optimize') "
                        "AND pid <> pg_backend_pid()"))


def test_a_dropped_connection_is_retried_with_one_line(postgres_store, capfd):
    store = open_store(postgres_store)
    optimizer_id = new_optimizer_id()
    store.create(optimizer_id, {})
    journal = store.journal(optimizer_id)
    with journal.locked():
        journal.append([{"type": "before"}])
    assert _terminate_backends(postgres_store) >= 2
    with journal.locked() as new:
        assert new == []
        journal.append([{"type": "after"}])
    assert store.read_config(optimizer_id) == {}
    err = capfd.readouterr().err
    warnings = [line for line in err.splitlines()
                if f"lost the connection to the store {postgres_store} " in line]
    assert len(warnings) == 2  # one per connection (journal, store), one line each
    assert all("retrying for up to" in line for line in warnings)
    events = store.journal(optimizer_id, readonly=True).read_new()
    assert [e["type"] for e in events] == ["before", "after"]


def _kill_on_insert(url: str) -> None:
    """The next insert of events dies with its connection, before its commit.

    A sequence arms it because a sequence is not rolled back with the transaction.
    """
    sql(url, """
        CREATE SEQUENCE kill_once;
        CREATE FUNCTION kill_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF nextval('kill_once') = 1 THEN
                PERFORM pg_terminate_backend(pg_backend_pid());
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER kill_insert AFTER INSERT ON comet_optimize_events
            FOR EACH STATEMENT EXECUTE FUNCTION kill_insert();
    """)


def test_a_commit_lost_with_its_connection_is_written_once(postgres_store):
    store = open_store(postgres_store)
    optimizer_id = new_optimizer_id()
    store.create(optimizer_id, {})
    journal = store.journal(optimizer_id)
    with journal.locked():
        journal.append([{"type": "first"}])
    _kill_on_insert(postgres_store)
    with journal.locked():
        journal.append([{"type": "decided"}, {"type": "together"}])
    with journal.locked() as new:
        assert new == []
    events = store.journal(optimizer_id, readonly=True).read_new()
    assert [e["type"] for e in events] == ["first", "decided", "together"]


def test_a_decision_overtaken_during_an_outage_is_a_conflict(postgres_store):
    store = open_store(postgres_store)
    optimizer_id = new_optimizer_id()
    store.create(optimizer_id, {})
    slow, fast = store.journal(optimizer_id), store.journal(optimizer_id)
    _kill_on_insert(postgres_store)

    def other_worker() -> None:
        with fast.locked():
            fast.append([{"type": "fast"}])

    thread = threading.Thread(target=other_worker)
    with pytest.raises(JournalConflict, match="reload the search"):
        with slow.locked():
            slow.append([{"type": "slow"}])
            thread.start()  # it waits for the lock, on the server, until 'slow' lets go
            while not sql(postgres_store, "SELECT 1 FROM pg_locks "
                                          "WHERE locktype = 'advisory' AND NOT granted"):
                time.sleep(0.005)
        # slow's insert dies with its connection; the waiting worker gets the lock and
        # writes first; slow comes back, finds its batch missing and 'fast' written.
    thread.join()
    events = store.journal(optimizer_id, readonly=True).read_new()
    assert [e["type"] for e in events] == ["fast"]
    assert [e["type"] for e in slow.read_new()] == ["fast"]  # once, and never its own
    assert slow.read_new() == []


# -- least privileges (the statements of docs/cluster.md)


def grant_roles(url: str, schema: str, suffix: str) -> None:
    sql(url, f"""
        CREATE ROLE comet_worker_{suffix} LOGIN PASSWORD 'worker-pw';
        GRANT USAGE ON SCHEMA {schema} TO comet_worker_{suffix};
        GRANT SELECT ON comet_optimize_meta TO comet_worker_{suffix};
        GRANT SELECT, INSERT ON comet_optimize_searches, comet_optimize_events
            TO comet_worker_{suffix};
        GRANT SELECT, INSERT, UPDATE ON comet_optimize_heartbeats TO comet_worker_{suffix};
        CREATE ROLE comet_reader_{suffix} LOGIN PASSWORD 'reader-pw';
        GRANT USAGE ON SCHEMA {schema} TO comet_reader_{suffix};
        GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO comet_reader_{suffix};
    """)


def test_a_worker_role_and_a_reader_role_need_only_the_documented_grants(postgres_store):
    from comet_optimize import Optimizer

    owner = open_store(postgres_store)
    owner.create(new_optimizer_id(), {})  # the owner creates the tables once
    schema = postgres_store.rsplit("%3D", 1)[1]
    suffix = schema[2:]
    grant_roles(postgres_store, schema, suffix)
    as_role = postgres_store.replace("://postgres@", f"://comet_worker_{suffix}:worker-pw@")
    opt = Optimizer({"algorithm": "random", "spec": {"maxCombo": 5},
                     "parameters": {"x": {"type": "double", "min": 0, "max": 1}}},
                    verbose=0, store=as_role)
    for experiment in opt.get_experiments():
        experiment.log_metric("loss", experiment.params["x"])
    assert opt.status()["completed"] == 5
    as_reader = postgres_store.replace("://postgres@", f"://comet_reader_{suffix}:reader-pw@")
    run = comet("optimize", "status", opt.id, "--json", "--store", as_reader)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["completed"] == 5
    assert "reader-pw" not in run.stdout + run.stderr
    run = comet("optimize", "export", opt.id, "--store", as_reader)
    assert run.returncode == 0 and len(run.stdout.strip().splitlines()) == 6, run.stderr
    with pytest.raises(OptimizerException, match="permission denied"):
        open_store(as_reader).create(new_optimizer_id(), {})


# -- moving a search


def as_written(events: list[dict]) -> list[dict]:
    """Events without ``_at`` (where each store found them)."""
    assert events
    return [{k: v for k, v in event.items() if k != "_at"} for event in events]


def test_copy_moves_a_search_exactly_to_postgres_and_back(postgres_store, file_store, tmp_path):
    from comet_optimize import Optimizer
    from tests.conftest import stored_events

    opt = Optimizer({"algorithm": "bayes", "spec": {"maxCombo": 12, "retryAssignLimit": 1},
                     "parameters": {"x": {"type": "double", "min": 0, "max": 1},
                                    "k": [1, 2, 3]}}, verbose=0, store=file_store)
    for experiment in opt.get_experiments():
        experiment.log_metric("loss", experiment.params["x"])
        if experiment.count == 6:
            break
    experiment.end()
    url = with_password(postgres_store)
    run = comet("optimize", "copy", opt.id, "--to", url, "--store", file_store)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().startswith(f"copied {opt.id} (")
    assert split_password(url)[1] not in run.stdout + run.stderr
    assert as_written(stored_events(postgres_store, opt.id)) == as_written(
        stored_events(file_store, opt.id))
    assert open_store(postgres_store).read_config(opt.id) == open_store(file_store).read_config(
        opt.id)

    again = comet("optimize", "copy", opt.id, "--to", postgres_store, "--store", file_store)
    assert again.returncode == 2 and "already exists" in again.stderr

    # The search continues where it is now, with the same id, and comes back complete.
    moved = Optimizer(opt.id, verbose=0, store=postgres_store)
    assert moved.status()["completed"] == 6
    for experiment in moved.get_experiments():
        experiment.log_metric("loss", experiment.params["x"])
    back = str(tmp_path / "back")
    run = comet("optimize", "copy", opt.id, "--to", back, "--store", postgres_store)
    assert run.returncode == 0, run.stderr
    status = Optimizer(opt.id, verbose=0, store=back).status()
    assert (status["completed"], status["status"]) == (12, "completed")
    assert as_written(stored_events(back, opt.id)) == as_written(
        stored_events(postgres_store, opt.id))


class Interrupted(Exception):
    pass


def test_an_exception_from_a_signal_handler_mid_commit_leaves_a_settled_store(postgres_store):
    """Ctrl-C (or a script's own signal handler) can land anywhere inside the driver.

    After it, a fresh reader must see the final truth at once: a COMMIT already
    sent is applied before the interrupted call returns, never later.
    """
    store = open_store(postgres_store)
    optimizer_id = new_optimizer_id()
    store.create(optimizer_id, {})

    # A timer that expires inside the last setitimer(0) has its handler run at the
    # loop's next turn, outside the try: it must not count once disarmed.
    armed = [False]

    def interrupt(signum, frame):
        if armed[0]:
            raise Interrupted

    previous = signal.signal(signal.SIGALRM, interrupt)
    journal = store.journal(optimizer_id)
    # The timers must land inside the call, however fast this machine commits: they are
    # spread over the time one unhurried locked append takes here (a fixed 0.5-2.9 ms
    # missed most calls on a machine that commits in 0.3 ms, and the test failed).
    took = []
    for number in range(20):
        started = time.perf_counter()
        with journal.locked():
            journal.append([{"type": "n", "n": number}])
        took.append(time.perf_counter() - started)
    typical = sorted(took)[len(took) // 2]
    seen_after: dict[int, set[int]] = {}
    interrupted = 0
    number = 20
    try:
        while interrupted < 20 and number < 2000:
            number += 1
            armed[0] = True
            signal.setitimer(signal.ITIMER_REAL,
                             max(1e-5, typical * (0.05 + 0.01 * (number * 37 % 100))))
            try:
                with journal.locked():
                    journal.append([{"type": "n", "n": number}])
                signal.setitimer(signal.ITIMER_REAL, 0)
                armed[0] = False
            except Interrupted:
                armed[0] = False
                signal.setitimer(signal.ITIMER_REAL, 0)
                interrupted += 1
                journal.close()
                journal = store.journal(optimizer_id)  # as the optimizer rebuilds
                seen_after[number] = {e["n"] for e in journal.read_new()}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert interrupted > 10
    final = [e["n"] for e in store.journal(optimizer_id, readonly=True).read_new()]
    assert final == sorted(set(final))  # in order, none twice
    for number, seen in seen_after.items():
        assert seen == {n for n in final if n <= number}, number  # nothing showed up later
    with journal.locked():  # no session of ours was left holding the search's lock
        journal.append([{"type": "n", "n": number + 1}])


def test_a_fork_while_another_thread_uses_the_store_does_not_deadlock_the_child(postgres_store):
    store = open_store(postgres_store)
    optimizer_id = new_optimizer_id()
    store.create(optimizer_id, {})
    stop = threading.Event()

    def heartbeat() -> None:  # like liveness' thread: the store's connection, busy
        while not stop.is_set():
            store.beat(optimizer_id, "parent")

    thread = threading.Thread(target=heartbeat, daemon=True)
    thread.start()
    codes = []
    try:
        for _ in range(20):
            child = os.fork()
            if child == 0:
                code = 1
                try:
                    signal.alarm(20)  # a deadlocked child dies instead of hanging the test
                    store.beat(optimizer_id, f"child-{os.getpid()}")
                    journal = store.journal(optimizer_id)
                    with journal.locked():
                        journal.append([{"type": "child"}])
                    code = 0
                finally:
                    os._exit(code)
            codes.append(os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]))
    finally:
        stop.set()
        thread.join()
    assert codes == [0] * 20
    events = store.journal(optimizer_id, readonly=True).read_new()
    assert len(events) == 20


def test_a_password_in_the_url_is_printed_nowhere(postgres_store, tmp_path, monkeypatch):
    url = with_password(postgres_store)
    password = split_password(url)[1]
    monkeypatch.delenv("PGPASSWORD")  # the workers get it from the URL in their environment
    script = tmp_path / "train.py"
    script.write_text("import sys\nfrom comet_optimize import Optimizer\n"
                      "opt = Optimizer(sys.argv[1])\n"
                      "for e in opt.get_experiments():\n"
                      "    e.log_metric('loss', e.params['x'])\n")
    config = tmp_path / "opt.config"
    config.write_text(json.dumps({"algorithm": "grid", "name": "secret-free",
                                  "parameters": {"x": [1, 2, 3]}}))
    run = comet("optimize", "-j", "2", str(script), str(config), "--store", url)
    printed = run.stdout + run.stderr
    assert "comet optimize: summary" in run.stderr, run.stderr
    optimizer_id = open_store(url).list_ids()[0]
    for args in (["status", optimizer_id], ["status", optimizer_id, "--json"], ["list"],
                 ["export", optimizer_id], ["check", optimizer_id]):
        shown = comet("optimize", *args, "--store", url)
        printed += shown.stdout + shown.stderr
    logs = open_store(url).log_folder(optimizer_id)
    for name in os.listdir(logs):
        with open(os.path.join(logs, name)) as handle:
            printed += handle.read()
    assert password not in printed
    assert postgres_store in printed  # the location is shown, without the password


def test_check_reads_a_postgres_search_and_names_a_damaged_row(postgres_store):
    from comet_optimize import Optimizer

    opt = Optimizer({"algorithm": "grid", "parameters": {"x": [1, 2, 3]}}, verbose=0,
                    store=postgres_store)
    for experiment in opt.get_experiments():
        experiment.log_metric("loss", experiment.params["x"])
    run = comet("optimize", "check", opt.id, "--store", postgres_store)
    assert run.returncode == 0 and "OK" in run.stdout, run.stderr
    sql(postgres_store, "INSERT INTO comet_optimize_events (search, batch, body) "
        "VALUES (%s, gen_random_uuid(), 'garbage')", (opt.id,))
    run = comet("optimize", "check", opt.id, "--store", postgres_store)
    assert run.returncode == 1 and "DAMAGED" in run.stdout, run.stdout + run.stderr


# -- one process, several searches

SEARCHES_IN_ONE_PROCESS = """
import json, os, sys, threading
from comet_optimize import Optimizer

config = {"algorithm": "random", "parameters": {"x": {"type": "double", "min": 0, "max": 1}}}
searches = [Optimizer(config, verbose=0) for _ in range(3)]
for opt in searches:
    opt.next()
beating = [t for t in threading.enumerate() if t.name == "comet-optimize-heartbeat"]
print(json.dumps({"pid": os.getpid(), "ids": [opt.id for opt in searches],
                  "heartbeat_threads": len(beating)}), flush=True)
sys.stdin.readline()  # stay alive (and connected) until the test has looked
"""


def test_one_process_beats_for_all_its_searches_through_one_connection(postgres_store):
    from tests.conftest import age_heartbeat, heartbeat_names

    env = {**os.environ, "COMET_OPTIMIZE_STORE": postgres_store, "COMET_OPTIMIZE_LEASE": "0.4"}
    child = subprocess.Popen([sys.executable, "-c", SEARCHES_IN_ONE_PROCESS], env=env,
                             text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        shown = json.loads(child.stdout.readline())
        assert shown["heartbeat_threads"] == 1
        sessions = sql(postgres_store, "SELECT count(*) FROM pg_stat_activity "
                       "WHERE application_name LIKE %s", (f"comet_optimize {shown['pid']} %",))
        assert sessions[0][0] == 3 + 1  # a journal per search, one for everything else
        names = {optimizer_id: heartbeat_names(postgres_store, optimizer_id)
                 for optimizer_id in shown["ids"]}
        assert all(len(beats) == 1 for beats in names.values()), names
        for optimizer_id, (worker,) in names.items():
            age_heartbeat(postgres_store, optimizer_id, worker)
        # The one thread (every 0.1 s here) freshens all three again.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and sql(
                postgres_store, "SELECT count(*) FROM comet_optimize_heartbeats "
                "WHERE beat < now() - interval '1 hour'")[0][0]:
            time.sleep(0.05)
        stale = sql(postgres_store, "SELECT search FROM comet_optimize_heartbeats "
                    "WHERE beat < now() - interval '1 hour'")
        assert stale == []
    finally:
        child.communicate("\n", timeout=60)
    assert child.returncode == 0


# -- moving a search with its files

LOG_FILES = """
import sys
from comet_optimize import Optimizer

opt = Optimizer(sys.argv[1], verbose=0)
for experiment in opt.get_experiments():
    experiment.log_metric("loss", experiment.params["x"])
    experiment.log_asset_data("model of " + experiment.id, name="model.txt")
print(opt.id)
"""


def test_copy_carries_the_experiments_files_both_ways(postgres_store, file_store, tmp_path):
    from comet_optimize import Optimizer

    opt = Optimizer({"algorithm": "grid", "parameters": {"x": [1, 2]}}, verbose=0,
                    store=file_store)
    run = subprocess.run([sys.executable, "-c", LOG_FILES, opt.id], capture_output=True,
                         text=True, env={**os.environ, "COMET_OPTIMIZE_STORE": file_store},
                         timeout=120)
    assert run.returncode == 0, run.stderr
    original = asset_files(os.path.join(file_store, opt.id, "assets"))
    assert len(original) == 2 and all("model of" in text for text in original.values())

    here = str(tmp_path / "assets-here")  # this machine's files of PostgreSQL searches
    run = comet("optimize", "copy", opt.id, "--to", postgres_store, "--store", file_store,
                env={"COMET_OPTIMIZE_ASSETS": here})
    assert run.returncode == 0, run.stderr
    assert "2 asset file(s)" in run.stdout and os.path.join(here, opt.id) in run.stdout
    assert asset_files(os.path.join(here, opt.id)) == original

    back = str(tmp_path / "back")
    run = comet("optimize", "copy", opt.id, "--to", back, "--store", postgres_store,
                env={"COMET_OPTIMIZE_ASSETS": here})
    assert run.returncode == 0, run.stderr
    assert asset_files(os.path.join(back, opt.id, "assets")) == original

    # On a machine that ran none of the workers, the copy says whose files stay behind.
    run = comet("optimize", "copy", opt.id, "--to", str(tmp_path / "third"), "--store",
                postgres_store, env={"COMET_OPTIMIZE_ASSETS": str(tmp_path / "no-files")})
    assert run.returncode == 0, run.stderr
    assert "the files of 2 experiment(s) are not on this machine" in run.stdout


def test_a_refused_login_after_a_dropped_connection_fails_at_once(postgres_store, monkeypatch):
    """Waiting out an outage helps; waiting for a password that is gone does not (and at
    a process's exit it held the process for COMET_OPTIMIZE_PG_RETRY seconds)."""
    from comet_optimize import Optimizer

    monkeypatch.setenv("COMET_OPTIMIZE_PG_RETRY", "60")
    opt = Optimizer({"algorithm": "grid", "parameters": {"x": [1, 2]}}, verbose=0,
                    store=postgres_store)
    experiment = opt.next()
    experiment.log_metric("loss", 1.0)
    monkeypatch.delenv("PGPASSWORD")  # the credentials went away (a rotated password)
    assert _terminate_backends(with_password(postgres_store)) >= 1
    started = time.monotonic()
    with pytest.raises(OptimizerException, match="no password supplied"):
        experiment.end()
    assert time.monotonic() - started < 10
