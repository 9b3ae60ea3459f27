"""comet_optimize.report without a browser: the payload, importance, the dashboard's deltas,
the page's escaping, and the one line a missing extra gives."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from comet_optimize import Optimizer
from comet_optimize.cli.report import format_score
from comet_optimize.report import data

COMET = [sys.executable, "-m", "comet_optimize.cli", "optimize"]
CONFIG = {
    "algorithm": "random", "spec": {"maxCombo": 40, "seed": 11},
    "parameters": {
        "lr": {"type": "double", "min": 1e-5, "max": 1.0, "scalingType": "loguniform"},
        "units": {"type": "integer", "min": 1, "max": 9},
        "act": ["relu", "tanh", "</script><script>alert(1)</script>"],
        "drop": [0, 0.5],
    },
}


def run_search(store: str, n: int, score=None) -> Optimizer:
    opt = Optimizer(CONFIG, verbose=0, store=store)
    for _ in range(n):
        experiment = opt.next()
        p = experiment.params
        value = score(p) if score else math.log10(p["lr"]) ** 2
        experiment.log_metric("loss", value)
        experiment.end()
    return opt


def test_rows_number_workers_and_categories_and_keep_seven_digits(file_store):
    opt = run_search(file_store, 5)
    payload, tabulator = data.build(opt.status(), opt.experiments())
    fields = payload["fields"]
    assert [axis["name"] for axis in payload["parameters"]] == ["lr", "units", "act", "drop"]
    assert [axis["log"] for axis in payload["parameters"]] == [True, False, False, False]
    assert [axis["kind"] for axis in payload["parameters"]] == \
        ["numeric", "numeric", "categorical", "categorical"]
    assert len(payload["rows"]) == 5 and len(payload["workers"]) == 1
    for row, experiment in zip(payload["rows"], opt.experiments()):
        params = dict(zip(["lr", "units", "act", "drop"], row[len(fields):]))
        assert params["lr"] == pytest.approx(experiment["parameters"]["lr"], rel=1e-6)
        assert CONFIG["parameters"]["act"][params["act"]] == experiment["parameters"]["act"]
        assert [0, 0.5][params["drop"]] == experiment["parameters"]["drop"]
        assert row[fields.index("worker")] == 0
        assert row[fields.index("state")] == data.STATES.index("completed")
    assert payload["header"]["best"]["text"] == format_score(opt.status()["best"]["score"])


def test_a_nan_score_is_a_completed_row_without_a_score_and_the_json_is_strict(file_store):
    opt = run_search(file_store, 3, score=lambda p: float("nan"))
    payload, _ = data.build(opt.status(), opt.experiments())
    score_at = payload["fields"].index("score")
    assert [row[score_at] for row in payload["rows"]] == [None, None, None]
    json.dumps(payload, allow_nan=False)


def test_an_abort_is_listed_with_what_it_logged(file_store):
    opt = Optimizer(CONFIG, verbose=0, store=file_store)
    experiment = opt.next()
    experiment.log_metric("accuracy", 0.9)
    experiment.end()
    failures = data.failures(opt.experiments(), "loss")
    assert failures["total"] == 1
    assert failures["items"][0]["reason"] == \
        "ended without logging the metric 'loss' (it logged: accuracy)"


def test_the_page_cannot_be_closed_early_by_a_parameter_value(file_store):
    pytest.importorskip("plotly")
    from comet_optimize.report import render

    opt = run_search(file_store, 12)
    page = render(opt)
    payload = page.split('<script type="application/json" id="comet-data">', 1)[1]
    payload = payload.split("</script>", 1)[0]
    assert "</" not in payload
    assert json.loads(payload)["parameters"][2]["values"][2] == CONFIG["parameters"]["act"][2]


def test_importance_finds_the_parameter_that_matters(file_store):
    pytest.importorskip("sklearn")
    from comet_optimize.report import importance

    opt = run_search(file_store, 40)
    payload, _ = data.build(opt.status(), opt.experiments())
    result = importance.compute(payload)
    assert result["items"][0]["name"] == "lr"
    assert result["items"][0]["importance"] > 5 * abs(result["items"][1]["importance"])
    assert "RandomForestRegressor" in result["method"] and "held-out" in result["method"]


def test_importance_needs_enough_results_and_a_spread(file_store):
    pytest.importorskip("sklearn")
    from comet_optimize.report import importance

    opt = run_search(file_store, 3)
    payload, _ = data.build(opt.status(), opt.experiments())
    assert "at least 8" in importance.compute(payload)["note"]
    flat = run_search(os.path.join(file_store, "flat"), 10, score=lambda p: 1.0)
    payload, _ = data.build(flat.status(), flat.experiments())
    assert "same score" in importance.compute(payload)["note"]


def test_no_importance_is_shown_when_the_forest_predicts_worse_than_the_mean(file_store):
    pytest.importorskip("sklearn")
    import random

    from comet_optimize.report import importance

    noise = random.Random(3)
    opt = run_search(file_store, 12, score=lambda p: noise.random())
    payload, _ = data.build(opt.status(), opt.experiments())
    result = importance.compute(payload)
    assert result["r2"] < 0 and result["items"] == []
    assert result["note"].startswith("No parameter importance yet")


def test_feed_sends_only_what_changed_since_a_version(file_store):
    from comet_optimize.report.feed import SearchFeed

    opt = run_search(file_store, 4)
    feed = SearchFeed(Optimizer(opt.id, verbose=0, store=file_store))
    first = feed.delta(None)
    assert first["full"] and len(first["payload"]["rows"]) == 4
    version = first["version"]
    assert feed.delta(version)["rows"] == []  # nothing happened
    running = opt.next()
    second = feed.delta(version)
    assert [row[0] for row in second["rows"]] == [5]
    assert second["rows"][0][second_field("state")] == data.STATES.index("running")
    running.log_metric("loss", 0.5)
    running.end()
    third = feed.delta(second["version"])
    assert [row[0] for row in third["rows"]] == [5]
    assert third["rows"][0][second_field("state")] == data.STATES.index("completed")
    assert third["header"]["completed"] == 5
    assert feed.delta(version)["rows"] and not feed.delta(version)["full"]
    assert feed.delta(10_000)["full"]  # a version from another server run


def second_field(name: str) -> int:
    return data.ROW_FIELDS.index(name)


def test_feed_fits_importance_in_the_background(file_store):
    pytest.importorskip("sklearn")
    from comet_optimize.report.feed import SearchFeed

    opt = run_search(file_store, 12)
    with ThreadPoolExecutor(max_workers=1) as pool:
        feed = SearchFeed(Optimizer(opt.id, verbose=0, store=file_store), pool)
        feed.delta(None)
    assert feed.importance is not None and feed.importance["items"]
    assert feed.delta(None)["payload"]["importance"]["version"] == 1


@pytest.fixture
def no_plotly(tmp_path) -> dict[str, str]:
    """An environment where `import plotly` fails, as without the extra."""
    (tmp_path / "blocked").mkdir()
    (tmp_path / "blocked" / "plotly.py").write_text("raise ImportError('not installed')\n")
    env = {k: v for k, v in os.environ.items() if k != "COMET_OPTIMIZER_ID"}
    env["PYTHONPATH"] = str(tmp_path / "blocked")
    return env


@pytest.mark.parametrize("command", [["report", "ID"], ["dashboard", "--port", "0"],
                                     ["-j", "1", "--report", "r.html", "SCRIPT", "ID"]])
def test_a_missing_extra_is_one_line_saying_what_to_install(file_store, no_plotly, tmp_path,
                                                           command):
    opt = run_search(file_store, 1)
    script = tmp_path / "never_run.py"
    script.write_text("open('ran', 'w').close()\n")
    args = [str(script) if a == "SCRIPT" else opt.id if a == "ID" else a for a in command]
    run = subprocess.run([*COMET, *args, "--store", file_store], env=no_plotly, cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1, run.stderr
    assert "plotly" in run.stderr and "pip install 'comet_optimize[report]'" in run.stderr
    assert not (tmp_path / "ran").exists() and not (tmp_path / "r.html").exists()
    assert len(opt.experiments()) == 1  # nothing was run


def test_dashboard_warns_when_it_listens_beyond_this_machine(file_store):
    pytest.importorskip("plotly")
    from comet_optimize.report.server import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1")
    env = {k: v for k, v in os.environ.items() if k != "COMET_OPTIMIZER_ID"}
    process = subprocess.Popen([*COMET, "dashboard", "--host", "0.0.0.0", "--port", "0",
                                "--store", file_store], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        warning = process.stderr.readline()
        assert warning.startswith("warning: --host 0.0.0.0") and "no authentication" in warning
        assert re.search(r"http://0\.0\.0\.0:\d+/", process.stdout.readline())
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_dashboard_binds_loopback_by_default(file_store):
    pytest.importorskip("plotly")
    env = {k: v for k, v in os.environ.items() if k != "COMET_OPTIMIZER_ID"}
    process = subprocess.Popen([*COMET, "dashboard", "--port", "0", "--store", file_store],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        assert re.search(r"at http://127\.0\.0\.1:\d+/ ", process.stdout.readline())
    finally:
        process.terminate()
        process.wait(timeout=10)
        assert process.stderr.read() == ""
