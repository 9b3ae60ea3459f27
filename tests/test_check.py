"""``comet optimize check``: a whole journal is OK (exit 0); damage is named with what it loses."""

from __future__ import annotations

import os
import subprocess
import sys

from comet_optimize import Optimizer


def check(optimizer_id: str, store: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "comet_optimize.cli", "optimize", "check",
                           optimizer_id, "--store", store], capture_output=True, text=True,
                          timeout=60)


def test_check_says_ok_then_names_the_damage_and_what_it_loses(file_store):
    store = file_store
    opt = Optimizer({"algorithm": "grid", "parameters": {"x": [1, 2, 3, 4]}}, verbose=0,
                    store=store)
    for experiment in opt.get_experiments():
        experiment.log_metric("loss", experiment.params["x"])
    run = check(opt.id, store)
    assert run.returncode == 0 and "OK" in run.stdout, run.stderr

    path = os.path.join(store, opt.id, "journal.jsonl")
    lines = open(path, "rb").read().splitlines(keepends=True)
    assign_2 = next(i for i, line in enumerate(lines)
                    if b'"assign"' in line and b'"count":2,' in line)
    offset = sum(len(line) for line in lines[:assign_2])
    lines[assign_2] = b"\0" * (len(lines[assign_2]) - 1) + b"\n"
    lines.insert(1, b'{"v":1,"type":"end","count":99,"status":"sideways"}\n')
    open(path, "wb").write(b"".join(lines))
    run = check(opt.id, store)
    assert run.returncode == 1
    assert "DAMAGED: 2 regions" in run.stdout
    assert f"at byte {offset + len(lines[1])}: NUL bytes" in run.stdout
    assert "unknown status 'sideways'" in run.stdout
    assert "experiment #2: its assignment" in run.stdout

    status = subprocess.run([sys.executable, "-m", "comet_optimize.cli", "optimize", "status",
                             opt.id, "--store", store], capture_output=True, text=True)
    assert "DAMAGED" in status.stdout and f"comet optimize check {opt.id}" in status.stdout


def test_status_shows_the_heartbeat_lease(store, monkeypatch):
    monkeypatch.setenv("COMET_OPTIMIZE_LEASE", "42")
    opt = Optimizer({"algorithm": "grid", "parameters": {"x": [1, 2]}}, verbose=0, store=store)
    assert opt.status()["lease"] == 42.0
    run = subprocess.run([sys.executable, "-m", "comet_optimize.cli", "optimize", "status",
                          opt.id, "--store", store], capture_output=True, text=True, timeout=60)
    assert "lease        42 s" in run.stdout, run.stdout


def test_a_hostile_experiment_number_is_summarised_not_walked(file_store):
    """An assignment numbered 2**62 made check list every number below it, one line
    each: 6.7 GB of memory and no answer after a minute."""
    opt = Optimizer({"algorithm": "grid", "parameters": {"x": [1, 2]}}, verbose=0,
                    store=file_store)
    for experiment in opt.get_experiments():
        experiment.log_metric("loss", experiment.params["x"])
    path = os.path.join(file_store, opt.id, "journal.jsonl")
    lines = open(path, "rb").read().splitlines(keepends=True)
    assign = next(line for line in lines if b'"assign"' in line)
    far = assign.replace(b'"count":1,', b'"count":%d,' % 2 ** 62)
    scattered = [assign.replace(b'"count":1,', b'"count":%d,' % (10 + 2 * n))
                 for n in range(200)]
    damaged = b'{"v":1,"type":"assign","count":"x"}\n'
    open(path, "ab").write(far + damaged + b"".join(scattered))
    run = check(opt.id, file_store)
    assert run.returncode == 1, run.stderr
    assert "experiments #3 to #9: everything" in run.stdout
    assert "experiment #11: everything" in run.stdout
    assert "... and more (the list stops here)" in run.stdout
    assert len(run.stdout.splitlines()) < 70


def test_a_gap_up_to_a_far_number_is_one_line(file_store):
    opt = Optimizer({"algorithm": "grid", "parameters": {"x": [1, 2]}}, verbose=0,
                    store=file_store)
    for experiment in opt.get_experiments():
        experiment.log_metric("loss", experiment.params["x"])
    path = os.path.join(file_store, opt.id, "journal.jsonl")
    assign = next(line for line in open(path, "rb") if b'"assign"' in line)
    open(path, "ab").write(assign.replace(b'"count":1,', b'"count":%d,' % 2 ** 62)
                           + b'{"v":1,"type":"assign","count":"x"}\n')
    run = check(opt.id, file_store)
    assert run.returncode == 1, run.stderr
    assert f"experiments #3 to #{2 ** 62 - 1}: everything" in run.stdout
