"""One damaged search never breaks the store (issue 8 item 11).

A half-created folder, a hand-edited config.json, journal lines that are JSON
but not events: ``list`` shows each as damaged with its reason and goes on;
``status`` on it says what is wrong in one line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from comet_optimize import Optimizer, OptimizerException
from comet_optimize.events import SCHEMA_VERSION

CONFIG = {"algorithm": "grid", "parameters": {"x": [1, 2]}}


def comet(*args: str, store: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "comet_optimize.cli", "optimize", *args,
                           "--store", store], capture_output=True, text=True, timeout=60)


def test_list_shows_every_damaged_search_and_goes_on(file_store):
    store = file_store
    good = Optimizer(CONFIG, verbose=0, store=store)
    half = "a" * 32
    os.makedirs(os.path.join(store, half))
    edited = Optimizer(CONFIG, verbose=0, store=store)
    with open(os.path.join(store, edited.id, "config.json"), "w") as handle:
        json.dump({"algorithm": "nope", "parameters": {"x": [1]}}, handle)
    garbled = Optimizer(CONFIG, verbose=0, store=store)
    with open(os.path.join(store, garbled.id, "config.json"), "w") as handle:
        handle.write("{not json")
    odd_events = Optimizer(CONFIG, verbose=0, store=store)
    with open(os.path.join(store, odd_events.id, "journal.jsonl"), "a") as handle:
        handle.write('{"v":1,"type":"assign","count":1}\n{"v":1,"type":"end","count":1,'
                     '"status":"exploded"}\n[1,2]\n')

    run = comet("list", store=store)
    assert run.returncode == 0, run.stderr
    rows = {line.split()[0]: line for line in run.stdout.splitlines()[2:]}
    assert "running" in rows[good.id] and "damaged" not in rows[good.id]
    assert "damaged" in rows[half] and "never fully created" in rows[half]
    assert "damaged" in rows[edited.id] and "nope" in rows[edited.id]
    assert "damaged" in rows[garbled.id] and "cannot read the stored config" in rows[garbled.id]
    assert "(damaged)" in rows[odd_events.id]

    for broken in (half, edited.id, garbled.id):
        status = comet("status", broken, store=store)
        assert status.returncode == 2 and len(status.stderr.strip().splitlines()) == 1
    status = comet("status", odd_events.id, store=store)
    assert status.returncode == 0 and "DAMAGED" in status.stdout


def test_an_event_from_a_newer_schema_is_refused_not_misread(file_store):
    store = file_store
    opt = Optimizer(CONFIG, verbose=0, store=store)
    experiment = opt.next()
    experiment.log_metric("loss", 1.0)
    experiment.end()
    journal = os.path.join(store, opt.id, "journal.jsonl")
    with open(journal, "a") as handle:  # what a future version might append
        handle.write(f'{{"v":{SCHEMA_VERSION + 1},"type":"assign","count":2,'
                     f'"shape":"unknown to us"}}\n')
    before = open(journal, "rb").read()

    for args in (("status", opt.id), ("check", opt.id), ("export", opt.id)):
        run = comet(*args, store=store)
        assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr
        assert "written by a newer comet_optimize" in run.stderr
        assert f"journal schema {SCHEMA_VERSION + 1}" in run.stderr
        assert "Traceback" not in run.stderr
    with pytest.raises(OptimizerException, match="written by a newer comet_optimize"):
        opt.next()  # a worker already attached stops too, at its next read
    assert open(journal, "rb").read() == before  # nothing appended after it


def _plant(store: str, optimizer_id: str, config: str | None = None,
           event: str | None = None) -> None:
    """Write a config or an event line as someone else would, in either kind of store."""
    if store.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(store, autocommit=True) as conn:
            if config is not None:
                conn.execute("UPDATE comet_optimize_searches SET config = %s WHERE id = %s",
                             (config, optimizer_id))
            if event is not None:
                conn.execute("INSERT INTO comet_optimize_events (search, batch, body) "
                             "VALUES (%s, gen_random_uuid(), %s)", (optimizer_id, event))
        return
    folder = os.path.join(store, optimizer_id)
    if config is not None:
        with open(os.path.join(folder, "config.json"), "w") as handle:
            handle.write(config)
    if event is not None:
        with open(os.path.join(folder, "journal.jsonl"), "a") as handle:
            handle.write(event + "\n")


@pytest.mark.parametrize("text", ["ascii", "utf-8"])
def test_json_nested_past_the_recursion_limit_is_damage_not_a_crash(store, text):
    """A planted or damaged store may nest arrays 100,000 deep: the JSON parser's
    RecursionError was a traceback in every reader (status, list, export, report,
    a worker's decision)."""
    bomb = "[" * 100_000 + "]" * 100_000
    events = Optimizer(CONFIG, verbose=0, store=store)
    for experiment in events.get_experiments():
        experiment.log_metric("loss", experiment.params["x"])
    name = "caf\u00e9" if text == "utf-8" else "cafe"
    _plant(store, events.id, event=f'{{"v": 1, "type": "update", "name": "{name}", '
                                    f'"count": 1, "deep": {bomb}}}')
    for command in (["status", events.id], ["export", events.id], ["check", events.id]):
        run = comet(*command, store=store)
        assert "Traceback" not in run.stderr and "RecursionError" not in run.stderr, run.stderr
        assert "damaged" in run.stderr + run.stdout
    reread = Optimizer(events.id, verbose=0, store=store)
    assert [e["status"] for e in reread.experiments()] == ["completed", "completed"]

    config = Optimizer(CONFIG, verbose=0, store=store)
    _plant(store, config.id, config=bomb)
    run = comet("status", config.id, store=store)
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert "cannot read the stored config" in run.stderr and run.stderr.count("\n") == 1
    listed = comet("list", store=store)
    assert listed.returncode == 0 and "Traceback" not in listed.stderr
    assert "damaged" in listed.stdout
    with pytest.raises(OptimizerException, match="nested too deeply"):
        Optimizer(config.id, verbose=0, store=store)
