"""`comet optimize copy` of a search whose workers are still at work.

What a live worker records after the copy goes to the original store only, so a
search continued from the copy would never see those results. The copy is
refused in one sentence that says so (and how to go on), unless ``--force``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from comet_optimize import Optimizer

CONFIG = {"algorithm": "grid", "parameters": {"x": [1, 2, 3]}, "spec": {"metric": "loss"}}

# Holds experiment #1 open until told to go on (a line on stdin).
WORKER = """
import sys
from comet_optimize import Optimizer
for experiment in Optimizer(verbose=0).get_experiments():
    experiment.log_metric("loss", experiment.params["x"])
    print("holding", flush=True)
    sys.stdin.readline()
"""


def comet(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "comet_optimize.cli", "optimize", *args],
                          capture_output=True, text=True, timeout=120, env=env)


def test_a_running_search_is_copied_only_when_forced(store, tmp_path):
    opt = Optimizer(CONFIG, store=store, verbose=0)
    env = {**os.environ}
    source = store
    if store.startswith("postgresql://"):
        from tests.conftest import postgres_server_url, split_password

        # The password in the URL, not in the environment: the look at who is
        # running must connect with the URL as given.
        password = split_password(postgres_server_url())[1]
        env.pop("PGPASSWORD", None)
        if password is not None:
            scheme, rest = store.split("://", 1)
            user, host = rest.split("@", 1)
            source = f"{scheme}://{user}:{password}@{host}"
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True, env={**env, "COMET_OPTIMIZE_STORE": source, "COMET_OPTIMIZER_ID": opt.id})
    try:
        assert worker.stdout.readline() == "holding\n"
        refused = comet("copy", opt.id, "--to", str(tmp_path / "early"), "--store", source,
                        env=env)
        assert refused.returncode == 2, refused.stderr
        assert "1 experiment(s) running" in refused.stderr
        assert "--force" in refused.stderr and "Traceback" not in refused.stderr
        assert not (tmp_path / "early" / opt.id).exists()

        forced = comet("copy", opt.id, "--to", str(tmp_path / "forced"), "--store", source,
                       "--force", env=env)
        assert forced.returncode == 0, forced.stderr
        assert Optimizer(opt.id, store=str(tmp_path / "forced"), verbose=0).status()[
            "assigned"] == 1
    finally:
        worker.communicate("\n\n\n", timeout=60)
    assert worker.returncode == 0

    done = comet("copy", opt.id, "--to", str(tmp_path / "done"), "--store", source, env=env)
    assert done.returncode == 0, done.stderr
    status = Optimizer(opt.id, store=str(tmp_path / "done"), verbose=0).status()
    assert (status["completed"], status["status"]) == (3, "completed")


def test_a_copy_into_a_search_folder_is_refused(tmp_path):
    """`--to` inside a search's own folder (its own, or another search's) would
    plant a store among that search's files; it is refused and nothing is made."""
    store = str(tmp_path / "store")
    opt = Optimizer(CONFIG, store=store, verbose=0)
    other = Optimizer(CONFIG, store=store, verbose=0)
    before = {path: sorted(os.listdir(path)) for path in
              (os.path.join(store, opt.id), os.path.join(store, other.id))}
    for inside in (os.path.join(store, opt.id), os.path.join(store, opt.id, "logs"),
                   os.path.join(store, other.id, "deeper", "still")):
        run = comet("copy", opt.id, "--to", inside, "--store", store, env={**os.environ})
        assert run.returncode == 2, run.stderr
        assert "is inside the folder of the search" in run.stderr and "Traceback" not in run.stderr
        assert run.stderr.count("\n") == 1
    assert {path: sorted(os.listdir(path)) for path in before} == before
    beside = comet("copy", opt.id, "--to", str(tmp_path / "elsewhere"), "--store", store,
                   env={**os.environ})
    assert beside.returncode == 0, beside.stderr


def test_a_search_folder_given_as_the_store_is_refused(tmp_path):
    """The summary prints paths inside a search's folder, and people pass that
    folder as --store: a new search there would be planted among its files."""
    import pytest

    from comet_optimize.errors import OptimizerException

    store = str(tmp_path / "store")
    opt = Optimizer(CONFIG, store=store, verbose=0)
    folder = os.path.join(store, opt.id)
    before = sorted(os.listdir(folder))
    with pytest.raises(OptimizerException, match=f"inside the folder of the search {opt.id}"):
        Optimizer(CONFIG, store=folder, verbose=0)
    config = tmp_path / "opt.json"
    config.write_text(json.dumps(CONFIG))
    script = tmp_path / "train.py"
    script.write_text(WORKER)
    run = subprocess.run([sys.executable, "-m", "comet_optimize.cli", "optimize", "-j", "1",
                          str(script), str(config), "--store", os.path.join(folder, "logs")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    assert f"give the store that holds it ({store})" in run.stderr
    assert "Traceback" not in run.stderr and run.stderr.count("\n") == 1
    assert sorted(os.listdir(folder)) == before


def test_a_folder_that_only_looks_like_a_search_is_no_search(tmp_path):
    """A folder named with 32 hex digits that holds a journal.jsonl of another tool is
    not a search (a search has its config.json): a store inside it is a store."""
    lookalike = tmp_path / ("0123456789abcdef" * 2)
    lookalike.mkdir()
    (lookalike / "journal.jsonl").write_text("{}\n")
    opt = Optimizer(CONFIG, store=str(lookalike / "store"), verbose=0)
    assert os.path.isfile(os.path.join(lookalike, "store", opt.id, "config.json"))
