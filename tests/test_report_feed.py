"""The dashboard's incremental read: what changed since a cursor, and nothing else.

A writer runs a search through random interleavings of what happens to a real
one (assignments, results, aborts, failures, re-assignments, repeated trials,
results logged after the end, a worker killed while it holds an experiment,
damage in the journal); a reader that only ever asks
``experiments_since(cursor)`` and merges the answers must hold exactly what a
fresh full read gives, on both stores. The dashboard's `SearchFeed`, followed
the way a page follows it (a full payload, then deltas), must agree with a
feed built from scratch.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest

from comet_optimize import Optimizer
from comet_optimize.report import data
from comet_optimize.report.feed import SearchFeed
from comet_optimize.store import open_store

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "workers", "worker.py")
CONFIG = {
    "algorithm": "random", "trials": 2,
    "spec": {"maxCombo": 60, "seed": 5, "retryAssignLimit": 1},
    "parameters": {"x": {"type": "double", "min": 0.001, "max": 10,
                         "scalingType": "loguniform"},
                   "kind": ["a", "b", "c"]},
}


class Follower:
    """A reader that knows only what `experiments_since` told it."""

    def __init__(self, optimizer: Optimizer):
        self.optimizer = optimizer
        self.cursor = None
        self.known: dict[int, dict] = {}
        self.fulls = 0

    def catch_up(self) -> int:
        changes = self.optimizer.experiments_since(self.cursor)
        if changes.full:
            self.fulls += 1
            self.known = {}
        for experiment in changes.experiments:
            self.known[experiment["count"]] = experiment
        self.cursor = changes.cursor
        return len(changes.experiments)

    def experiments(self) -> list[dict]:
        return [self.known[count] for count in sorted(self.known)]


def kill_a_worker_holding_an_experiment(store: str, optimizer_id: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != "COMET_OPTIMIZER_ID"}
    env["COMET_OPTIMIZE_STORE"] = store
    worker = subprocess.Popen([sys.executable, WORKER, optimizer_id, "--hang"], env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = worker.stdout.readline()
    worker.kill()
    worker.wait(timeout=30)
    worker.stdout.close()
    worker.stdin.close()
    assert line.startswith("ready "), line
    return int(line.split()[1])


def damage(store: str, optimizer_id: str, rng: random.Random) -> None:
    """An event that cannot be applied (both stores), or a torn line (the file store)."""
    if "://" not in store and rng.random() < 0.5:
        with open(os.path.join(store, optimizer_id, "journal.jsonl"), "ab") as handle:
            handle.write(b"{not json at all\n")
        return
    journal = open_store(store).journal(optimizer_id)
    try:
        with journal.locked():
            journal.append([{"type": "update", "count": 10_000 + rng.randrange(100),
                             "status": "completed", "score": 1.0, "time": 0.0}])
    finally:
        journal.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_incremental_read_equals_the_full_read(store, seed, capsys):
    rng = random.Random(seed)
    writer = Optimizer(CONFIG, verbose=0, store=store)
    follower = Follower(Optimizer(writer.id, verbose=0, store=store))
    running, ended = [], []
    killed_at = rng.randrange(5, 40)
    reads = 0
    for step in range(60):
        action = rng.choice(["assign", "assign", "complete", "complete", "abort", "fail",
                             "update", "damage", "read", "read", "rebuild"])
        if step == killed_at:
            kill_a_worker_holding_an_experiment(store, writer.id)
        elif action == "assign" or (action in ("complete", "abort", "fail") and not running):
            experiment = writer.next()
            if experiment is not None:
                running.append(experiment)
        elif action in ("complete", "abort", "fail"):
            experiment = running.pop(rng.randrange(len(running)))
            if action == "complete":
                experiment.log_metric("loss", rng.random())
                experiment.end()
            elif action == "abort":
                experiment.end()  # no metric: aborted, and re-assigned once
            else:
                experiment._fail("RuntimeError: the script raised")
            ended.append(experiment)
        elif action == "update" and ended:
            # A metric logged after the end replaces the recorded outcome.
            rng.choice(ended).log_metric("loss", rng.random())
        elif action == "damage":
            damage(store, writer.id, rng)
        elif action == "rebuild":
            follower.optimizer._rebuild()  # as after a conflict: a new state, a full read
        if action == "read" or step % 7 == 0:
            follower.catch_up()
            reads += 1
            assert follower.experiments() == Optimizer(
                writer.id, verbose=0, store=store).experiments(), f"step {step}"
    follower.catch_up()
    assert follower.experiments() == follower.optimizer.experiments()
    assert follower.catch_up() == 0  # nothing new: nothing read
    statuses = {e["status"] for e in follower.experiments()}
    assert {"completed", "failed"} <= statuses
    assert any(e["retry"] > 0 for e in follower.experiments())
    assert any(e["trial"] == 2 for e in follower.experiments())
    capsys.readouterr()  # the damage warnings


def test_a_dead_worker_counts_as_a_change_and_so_does_its_recorded_failure(store):
    writer = Optimizer(CONFIG, verbose=0, store=store)
    done = writer.next()
    done.log_metric("loss", 1.0)
    done.end()
    follower = Follower(Optimizer(writer.id, verbose=0, store=store))
    follower.catch_up()
    count = kill_a_worker_holding_an_experiment(store, writer.id)
    assert follower.catch_up() == 1
    assert follower.known[count]["status"] == "failed"  # shown failed, not written
    assert follower.catch_up() == 0
    writer.refresh()  # a process that decides records it
    assert follower.catch_up() == 1
    assert follower.known[count]["status"] == "failed"
    assert follower.experiments() == writer.experiments()


def test_a_refresh_reads_only_what_changed(store, monkeypatch):
    """The cost of a refresh follows what changed: the rows the feed converts are those."""
    writer = Optimizer(CONFIG, verbose=0, store=store)
    for _ in range(30):
        experiment = writer.next()
        experiment.log_metric("loss", 1.0)
        experiment.end()
    reader = Optimizer(writer.id, verbose=0, store=store)
    feed = SearchFeed(reader)
    converted = []
    real_row = data.Tabulator.row

    def counting_row(self, experiment):
        converted.append(experiment["count"])
        return real_row(self, experiment)

    monkeypatch.setattr(data.Tabulator, "row", counting_row)
    version = feed.delta(None)["version"]
    assert len(converted) == 30
    converted.clear()
    assert feed.delta(version)["rows"] == [] and converted == []
    late = writer.next()
    late.log_metric("loss", 0.5)
    late.end()
    delta = feed.delta(version)
    assert [row[0] for row in delta["rows"]] == [31] and converted == [31]


def normalised(payload_rows: list[list], workers: list[dict]) -> dict[int, list]:
    """Rows by count with the worker as its label and the parameter set as its first count
    (two feeds may number workers and sets in a different order)."""
    fields = data.ROW_FIELDS
    first_of_set: dict[int, int] = {}
    for row in payload_rows:
        key = row[fields.index("set")]
        first_of_set[key] = min(first_of_set.get(key, row[0]), row[0])
    out = {}
    for row in payload_rows:
        row = list(row)
        row[fields.index("worker")] = workers[row[fields.index("worker")]]["label"]
        row[fields.index("set")] = first_of_set[row[fields.index("set")]]
        out[row[0]] = row
    return out


def test_a_page_following_the_deltas_holds_what_a_fresh_feed_sends(store, capsys):
    rng = random.Random(7)
    writer = Optimizer(CONFIG, verbose=0, store=store)
    feed = SearchFeed(Optimizer(writer.id, verbose=0, store=store))
    first = feed.delta(None)
    page = {"version": first["version"], "rows": {r[0]: r for r in first["payload"]["rows"]},
            "workers": first["payload"]["workers"], "failures": first["payload"]["failures"]}
    running = []
    for step in range(40):
        if running and rng.random() < 0.5:
            experiment = running.pop(rng.randrange(len(running)))
            if rng.random() < 0.7:
                experiment.log_metric("loss", rng.random())
            experiment.end()
            if rng.random() < 0.2:
                experiment.log_metric("loss", rng.random())  # an update after the end
        else:
            experiment = writer.next()
            if experiment is not None:
                running.append(experiment)
        if step == 20:
            damage(store, writer.id, rng)
        if step % 3 == 0:
            delta = feed.delta(page["version"])
            if delta["full"]:
                page["rows"] = {r[0]: r for r in delta["payload"]["rows"]}
                page["workers"] = delta["payload"]["workers"]
                page["failures"] = delta["payload"]["failures"]
            else:
                page["rows"].update({r[0]: r for r in delta["rows"]})
                page["workers"], page["failures"] = delta["workers"], delta["failures"]
            page["version"] = delta["version"]
            fresh = SearchFeed(Optimizer(writer.id, verbose=0, store=store)).delta(None)["payload"]
            assert normalised(list(page["rows"].values()), page["workers"]) == \
                normalised(fresh["rows"], fresh["workers"]), f"step {step}"
            assert page["failures"] == fresh["failures"]
    capsys.readouterr()


def test_failures_list_the_latest_and_count_them_all(file_store):
    writer = Optimizer({**CONFIG, "spec": {"maxCombo": 300, "seed": 1}}, verbose=0,
                       store=file_store)
    feed = SearchFeed(Optimizer(writer.id, verbose=0, store=file_store))
    feed.delta(None)
    for _ in range(data.MAX_FAILURES + 5):
        writer.next()._fail("RuntimeError: boom")
    listed = feed.delta(None)["payload"]["failures"]
    assert listed["total"] == data.MAX_FAILURES + 5
    assert len(listed["items"]) == data.MAX_FAILURES
    assert listed["items"][0]["count"] == data.MAX_FAILURES + 5  # newest first
    assert listed == data.failures(writer.experiments(), "loss")
