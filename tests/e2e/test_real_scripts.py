"""Calls that public Comet optimizer scripts make, run through ``comet optimize`` (session 8).

Each script below is ours, written to make the calls that a real script made,
in the same order, and that broke here:

* ``{"type": "discrete", "values": [True, False]}`` (kbacsa-ethz/phys-stoch
  ``comet_sweep.py`` writes ``[False]``; other public scripts ``[True, False]``):
  refused as "discrete values must be numbers", so the script never started.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

from comet_optimize.store import FileStore

COMET = [sys.executable, "-m", "comet_optimize.cli"]

FLAG_SCRIPT = """\
import sys
from comet_ml import Optimizer

opt = Optimizer(sys.argv[1], api_key="not-needed")
for experiment in opt.get_experiments(project_name="flags"):
    dissipative = experiment.get_parameter("dissipative")
    assert dissipative is True or dissipative is False, repr(dissipative)
    assert experiment.params["learn_kinetic"] is False
    experiment.log_metric("loss", experiment.get_parameter("dim") + (0.5 if dissipative else 0))
    experiment.end()
"""

FLAG_CONFIG = {
    "algorithm": "grid",
    "spec": {"metric": "loss", "objective": "minimize", "maxCombo": 4, "seed": 3},
    "parameters": {"dim": {"type": "discrete", "values": [10, 20]},
                   "dissipative": {"type": "discrete", "values": [True, False]},
                   "learn_kinetic": {"type": "discrete", "values": [False]}},
}


def run_launcher(tmp_path, script: str, config: dict):
    store = str(tmp_path / "store")
    (tmp_path / "train.py").write_text(script)
    (tmp_path / "opt.config").write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if k != "COMET_OPTIMIZER_ID"}
    env["COMET_OPTIMIZE_STORE"] = store
    run = subprocess.run([*COMET, "optimize", "-j", "2", "train.py", "opt.config"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    [optimizer_id] = FileStore(store).list_ids()
    export = subprocess.run([*COMET, "optimize", "export", optimizer_id, "--store", store],
                            env=env, capture_output=True, text=True, timeout=60)
    assert export.returncode == 0, export.stderr
    return run, list(csv.DictReader(io.StringIO(export.stdout))), store, optimizer_id


def test_discrete_booleans_are_handed_out_as_booleans(tmp_path):
    run, rows, _, _ = run_launcher(tmp_path, FLAG_SCRIPT, FLAG_CONFIG)
    assert "Traceback" not in run.stderr and "WARNING" not in run.stderr
    assert len(rows) == 4
    assert {(r["dim"], r["dissipative"]) for r in rows} == {
        ("10", "True"), ("10", "False"), ("20", "True"), ("20", "False")}
    for row in rows:
        assert row["status"] == "completed"
        assert float(row["score"]) == int(row["dim"]) + (0.5 if row["dissipative"] == "True" else 0)
