"""What a fold-free decision path would reach: a measurement, not a design to ship.

Monkeypatches our PostgreSQL store and Optimizer so that no worker reads another
worker's events: the reserved start (end + next) is inserted under the search's lock
in one round trip without reading what is new; a decision reads nothing but a counter
row (``proto_counter``, the highest experiment number handed out) in its transaction,
and writes it back with its events. It pays for what the design in
``docs/fold-free-decisions.md`` adds to each step: the table of parameter sets handed out,
the verdict guard on every write, the heartbeat rows read before a decision, and the
counters row's ``upto`` (it accounts for every event) extended by every write; and it
asserts what it relies on. Random search on an infinite space, no failures, no retries,
no liveness verdicts: only what ``benchmarks/pg_throughput.py`` exercises. The events
written are the same as today's, so the final ``status()`` (a full fold by a fresh
reader) still checks that every experiment completed once.

    flock /tmp/timing.lock .ci/with-postgres python benchmarks/fold_free_prototype.py \
        [--experiments 5000] [--workers 4,16,64] [--split] [--priority 10]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pg_throughput as bench  # noqa: E402


def patch() -> None:
    from comet_optimize import optimizer as om
    from comet_optimize.store import pipeline
    from comet_optimize.store import postgres as pg

    # The row proves it accounts for every event: `upto` is the search's greatest seq.
    select_counter = pipeline.Statement(b"proto_select", (
        b"SELECT n, upto = (SELECT coalesce(max(seq), 0) FROM comet_optimize_events "
        b"WHERE search = $1) FROM proto_counter WHERE search = $1"))
    update_counter = pipeline.Statement(b"proto_update", (
        b"UPDATE proto_counter SET n = greatest(n, $2::bigint), combos = combos + $3::bigint, "
        b"upto = (SELECT max(seq) FROM comet_optimize_events WHERE search = $1) "
        b"WHERE search = $1"))
    # What the design adds to each step, so that their cost is in the figures: the
    # set of parameter sets handed out (exact uniqueness), a guard against a verdict on
    # this worker (its write inserts nothing then), and the holders' liveness.
    insert_combos = pipeline.Statement(b"proto_combos", (
        b"INSERT INTO proto_combos (search, pid) SELECT $1::text, pid "
        b"FROM unnest($2::text[]) AS u(pid) ON CONFLICT DO NOTHING RETURNING pid"),
        (pipeline.TEXT, pipeline.BINARY))
    # The insert, and the counters row's `upto` extended only if it was current (the
    # UPDATE's subquery sees the events before this statement's insert).
    guarded_insert = pipeline.Statement(b"proto_guarded_insert", (
        b"WITH ins AS (INSERT INTO comet_optimize_events (search, batch, body) "
        b"SELECT $1::text, $2::uuid, body FROM unnest($3::text[]) WITH ORDINALITY AS u(body, n) "
        b"WHERE NOT EXISTS (SELECT 1 FROM proto_verdicts WHERE search = $1 AND worker = $4) "
        b"ORDER BY n RETURNING seq), "
        b"upd AS (UPDATE proto_counter SET upto = (SELECT max(seq) FROM ins) "
        b"WHERE search = $1 AND upto = (SELECT coalesce(max(seq), 0) "
        b"FROM comet_optimize_events WHERE search = $1) RETURNING 1) "
        b"SELECT seq, (SELECT count(*) FROM upd) FROM ins ORDER BY seq"),
        (pipeline.TEXT, pipeline.TEXT, pipeline.BINARY, pipeline.TEXT))
    holders = pipeline.Statement(b"proto_holders", (
        b"SELECT worker, extract(epoch FROM now() - beat)::float8 "
        b"FROM comet_optimize_heartbeats WHERE search = $1"))

    def write(self, events):
        bodies = pg._encode(events)
        batch = uuid.uuid4()
        with self._db.mutex:
            def work(conn):
                lock = [b"off", b"0", str(pg._LOCK_SPACE).encode(), str(self._key).encode()]
                results = pipeline.run(conn, self._db.prepared, [
                    (pg._P_BEGIN, None), (pg._P_LOCK, lock),
                    (guarded_insert, [self.optimizer_id.encode(), str(batch).encode(),
                                      pipeline.text_array(bodies), me()]),
                    (pg._P_COMMIT, None), (pg._P_FLUSH, None)])
                assert results[2].ntuples == len(bodies)
                assert results[2].get_value(0, 1) == b"1"  # the chain held
                return []
            return self._db.retrying(work)

    @contextlib.contextmanager
    def locked(self):
        with self._db.mutex:
            def look(conn):
                result = pipeline.run(conn, self._db.prepared,
                                      [(holders, [self.optimizer_id.encode()])])[0]
                return [(result.get_value(r, 0), result.get_value(r, 1))
                        for r in range(result.ntuples)]
            self._db.retrying(look)  # the liveness of the holders, outside the lock

            def begin(conn):
                pipeline.prepare(conn, self._db.prepared, pg._P_DECISION)
                lock = [b"off", b"0", str(pg._LOCK_SPACE).encode(), str(self._key).encode()]
                results = pipeline.run(conn, self._db.prepared, [
                    (pg._P_BEGIN, None), (pg._P_LOCK, lock),
                    (select_counter, [self.optimizer_id.encode()])])
                assert results[-1].get_value(0, 1) == b"t"  # the row accounts for every event
                return int(results[-1].get_value(0, 0))
            self.proto_counter = self._db.retrying(begin)
            self._in_transaction = True
            self._pending = None
            yield []
            self._in_transaction = False
            pending, self._pending = self._pending, None

            def commit(conn):
                commands = [(insert_combos, [self.optimizer_id.encode(),
                                             pipeline.text_array(self.proto_pids)])]
                if pending is not None:
                    commands.append((pg._P_INSERT, [
                        self.optimizer_id.encode(), str(pending[0]).encode(),
                        pipeline.text_array(pending[1])]))
                commands += [(update_counter, [self.optimizer_id.encode(),
                                               str(self.proto_new).encode(),
                                               str(len(self.proto_pids)).encode()]),
                             (pg._P_COMMIT, None), (pg._P_FLUSH, None)]
                results = pipeline.run(conn, self._db.prepared, commands)
                assert results[0].ntuples == len(self.proto_pids)  # no set twice
            self._db.retrying(commit)

    def attempts(self, decide):
        with self._journal.locked() as new_events:
            self._apply(new_events)
            self.state.max_count = max(self.state.max_count, self._journal.proto_counter)
            self._pending_events = []
            result = decide(time.time())
            if isinstance(result, list):
                self._record(result)
            self._journal.proto_new = self.state.max_count
            pids = []
            for event in self._pending_events:
                if event["type"] == "assign":
                    pids.append(event["pid"])
                elif event["type"] == "reserve":
                    pids.extend(item[2] for item in event["items"])
            self._journal.proto_pids = pids
            self._journal.append(self._pending_events)
        self._pending_events = []
        return result

    from comet_optimize.liveness import this_process

    def me():
        return this_process().name.encode()

    choose = om.Optimizer._choose

    def choose_within_budget(self, now):
        if self.state.max_count >= self.max_combo:
            return None
        return choose(self, now)

    real_read_new = pg.PostgresJournal.read_new

    def read_new(self):
        if getattr(self, "proto_attached", False):
            return []
        self.proto_attached = True
        return real_read_new(self)

    pg.PostgresJournal.write = write
    pg.PostgresJournal.read_new = read_new
    pg.PostgresJournal.locked = locked
    om.Optimizer._attempts = attempts
    om.Optimizer._choose = choose_within_budget


def worker(optimizer_id, store, split, barrier, queue):
    patch()
    bench.ours_worker(optimizer_id, store, split, barrier, queue)


def ours(store: str, experiments: int, workers: int, split: bool) -> dict:
    import psycopg

    from comet_optimize import Optimizer

    opt = Optimizer({**bench.CONFIG, "spec": {"maxCombo": experiments}}, verbose=0, store=store)
    with psycopg.connect(store, autocommit=True) as conn:
        conn.execute("CREATE TABLE proto_counter (search text PRIMARY KEY, n bigint NOT NULL, "
                     "combos bigint NOT NULL, upto bigint NOT NULL)")
        conn.execute("CREATE TABLE proto_combos (search text, pid text, "
                     "PRIMARY KEY (search, pid))")
        conn.execute("CREATE TABLE proto_verdicts (search text, worker text, "
                     "PRIMARY KEY (search, worker))")
        conn.execute("INSERT INTO proto_counter SELECT %s, 0, 0, max(seq) "
                     "FROM comet_optimize_events WHERE search = %s", (opt.id, opt.id))
    result = bench.run(worker, (opt.id, store, split), workers)
    status = Optimizer(opt.id, verbose=0, store=store).status()
    assert status["completed"] == experiments and status["assigned"] == experiments, status
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=5000)
    parser.add_argument("--workers", default="4,16,64")
    parser.add_argument("--priority", type=int, default=0)
    parser.add_argument("--split", action="store_true")
    parser.add_argument("--url", default=os.environ.get("COMET_OPTIMIZE_TEST_PG"))
    args = parser.parse_args()
    priority = bench.take_priority(args.priority) if args.priority else "no priority"
    print(f"fold-free prototype, {args.experiments} experiments; load "
          f"{os.getloadavg()[0]:.1f}; {priority}")
    for workers in [int(w) for w in args.workers.split(",")]:
        result = ours(bench.fresh_schema(args.url), args.experiments, workers, args.split)
        bench.print_row(workers, "prototype", result, args.experiments)


if __name__ == "__main__":
    main()
