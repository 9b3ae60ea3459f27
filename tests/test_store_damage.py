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
