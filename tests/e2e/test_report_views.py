"""The report and the dashboard, opened in headless Chromium, checked as a person would.

One real search is run by the launcher (two workers, two trials, an abort and
a crash); the report of it is opened from a file with no server, and the
dashboard is started as `comet optimize dashboard` would be. Each view is
saved as a screenshot (see browser.py for where).
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import time

import pytest
from browser import (
    console_errors,
    plot_size,
    screenshot_dir,
    shoot,
    start_browser,
    unavailable,
    wait_for,
)

from comet_optimize import Optimizer
from comet_optimize.cli.report import format_score

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "scripts", "report_worker.py")
CONFIG = os.path.join(HERE, "scripts", "report.config")
TEST_WORKER = os.path.join(os.path.dirname(HERE), "workers", "worker.py")
COMET = [sys.executable, "-m", "comet_optimize.cli", "optimize"]
PLOTS = ["plot-history-count", "plot-history-time", "plot-parcoords", "plot-slices",
         "plot-importance", "plot-timeline", "plot-trials"]
SECTIONS = ["header", "section-history", "section-parcoords", "section-slices",
            "section-importance", "section-timeline", "section-trials"]


def environment(store: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "COMET_OPTIMIZER_ID"}
    env["COMET_OPTIMIZE_STORE"] = store
    return env


@pytest.fixture(scope="module")
def browser():
    driver = start_browser()
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> str:
    folder = screenshot_dir(tmp_path_factory)
    print(f"\nscreenshots: {folder}")
    return folder


@pytest.fixture(scope="module")
def search(tmp_path_factory) -> dict:
    """A finished search of 24 experiments by two workers, with `--report` asked for."""
    try:
        import plotly  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError:
        unavailable("the report extra is missing: pip install -e '.[report]'")
    root = tmp_path_factory.mktemp("report-search")
    store = str(root / "store")
    report = str(root / "launched-report.html")
    run = subprocess.run([*COMET, "-j", "2", "--report", report, WORKER, CONFIG],
                         env=environment(store), capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stderr  # the worker that crashed exited 3
    optimizer_id = re.search(r"search\s+([0-9a-f]{32})", run.stderr).group(1)
    opt = Optimizer(optimizer_id, verbose=0, store=store)
    return {"store": store, "id": optimizer_id, "status": opt.status(),
            "experiments": opt.experiments(), "launched_report": report,
            "launcher_stderr": run.stderr, "root": root}


@pytest.fixture(scope="module")
def report_page(search, browser, shots) -> dict:
    """The report written by `comet optimize report`, opened from disk, fully drawn."""
    path = str(search["root"] / "report.html")
    run = subprocess.run([*COMET, "report", search["id"], "-o", path],
                         env=environment(search["store"]), capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert path in run.stdout
    browser.get_log("browser")  # start from a clean console
    browser.get("file://" + path)
    rendered = wait_for(lambda: browser.execute_script(
        "return document.body.getAttribute('data-rendered')"), 60, "the report to render")
    print(f"\nreport of {len(search['experiments'])} experiments rendered in "
          f"{float(rendered):.0f} ms after navigation")
    for section in SECTIONS:
        shoot(browser, section, os.path.join(shots, f"report-{section}.png"))
    return {"path": path, "errors": console_errors(browser)}


def trace_lengths(browser, plot_id: str, key: str = "x") -> list[int]:
    return browser.execute_script(
        "var key = arguments[1]; return document.getElementById(arguments[0]).data.map("
        "function (t) { return t[key] ? t[key].length : 0; });",
        plot_id, key)


def completed(search) -> list[dict]:
    return [e for e in search["experiments"] if e["status"] == "completed"]


def test_report_is_one_file_that_needs_no_network(search, report_page):
    text = open(report_page["path"], encoding="utf-8").read()
    assert not re.search(r"<script[^>]+src=", text), "every script must be inline"
    assert not re.search(r"<link[^>]+href=\"(?!data:)", text), "no external stylesheet"
    assert search["id"] in text


def test_report_has_no_console_error_and_every_plot_is_drawn(browser, report_page):
    assert report_page["errors"] == []
    for plot in PLOTS:
        width, height = plot_size(browser, plot)
        assert width > 100 and height > 100, f"{plot} is {width}x{height}"
        assert browser.execute_script(
            "return document.getElementById(arguments[0]).querySelectorAll('.main-svg').length",
            plot) > 0, f"{plot} has no plot in it"


def test_report_header_shows_the_best_result_of_status(browser, search, report_page):
    from selenium.webdriver.common.by import By

    best = search["status"]["best"]
    shown = browser.find_element(By.ID, "best-score")
    assert shown.text == format_score(best["score"])
    assert float(shown.get_attribute("data-score")) == best["score"]
    counts = browser.find_element(By.ID, "head-counts").text
    status = search["status"]
    assert counts.startswith(f"{status['assigned']} assigned: {status['completed']} completed")
    params = browser.find_element(By.ID, "best-params").text
    for name in best["parameters"]:
        assert name in params


def test_history_has_a_point_per_completed_experiment(browser, search, report_page):
    n = len(completed(search))
    for plot in ("plot-history-count", "plot-history-time"):
        points, steps = trace_lengths(browser, plot)
        assert points == n and 2 <= steps <= n + 1  # the best line: one step per improvement
    best_line = browser.execute_script(
        "return document.getElementById('plot-history-count').data[1].y")
    assert min(best_line) == pytest.approx(search["status"]["best"]["score"], rel=1e-6)


def test_parallel_coordinates_has_an_axis_per_parameter_and_a_line_per_result(
        browser, search, report_page):
    drawn = browser.execute_script(
        "return document.getElementById('plot-parcoords').cometParcoords")
    names = list(search["status"]["parameters"])
    assert drawn["axes"] == ["lr (log)", "layers", "activation", "dropout", "loss"]
    assert len(drawn["axes"]) == len(names) + 1
    assert drawn["lines"] == drawn["selected"] == drawn["total"] == len(completed(search))
    lines = browser.execute_script(  # each line: a point on every axis, then a gap
        "return document.getElementById('plot-parcoords').data.filter(function (t) {"
        "  return t.name.indexOf('score band') === 0; }).map(function (t) {"
        "  return t.x.length; });")
    assert sum(lines) == len(completed(search)) * (len(names) + 2)
    texts = browser.execute_script(
        "return Array.from(document.querySelectorAll('#plot-parcoords .textpoint text'))"
        ".map(function (t) { return t.textContent; });")
    for category in ("relu", "tanh", "gelu"):
        assert category in texts, f"categorical axis lacks {category}: {texts}"
    assert "1e-4" in texts and "1e0" in texts, "log axis ticks in decades"
    for label in drawn["axes"]:
        assert label in texts, f"no axis title {label!r}"


def test_parallel_coordinates_brush_filters_every_result(browser, search, report_page):
    """A drag along the score axis keeps the experiments inside the range; a click clears."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    strips = browser.find_elements(By.CSS_SELECTOR, "#section-parcoords .brush")
    assert len(strips) == len(search["status"]["parameters"]) + 1
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", strips[-1])
    height = strips[-1].size["height"]
    ActionChains(browser).move_to_element_with_offset(strips[-1], 0, int(height * 0.1)) \
        .click_and_hold().move_by_offset(0, int(height * 0.2)) \
        .move_by_offset(0, int(height * 0.2)).release().perform()
    drawn = wait_for(lambda: browser.execute_script(
        "var d = document.getElementById('plot-parcoords').cometParcoords;"
        "return d.selected < d.total && d;"), 10, "the brush to filter the lines")
    low, high = drawn["brushes"]["4"]
    scores = browser.execute_script(  # as the page has them (seven significant digits)
        "var p = JSON.parse(document.getElementById('comet-data').textContent);"
        "var at = p.fields.indexOf('score');"
        "return p.rows.map(function (r) { return r[at]; })"
        ".filter(function (s) { return s !== null; });")
    assert len(scores) == len(completed(search))
    lo, hi = min(scores), max(scores)
    inside = [s for s in scores if low <= (s - lo) / (hi - lo) <= high]
    assert 0 < drawn["selected"] == len(inside) < len(scores)
    assert drawn["lines"] == drawn["selected"]
    assert "inside the selected ranges" in browser.find_element(By.ID, "parcoords-method").text
    assert len(browser.execute_script(
        "return document.getElementById('plot-parcoords').layout.shapes")) == 1
    strips = browser.find_elements(By.CSS_SELECTOR, "#section-parcoords .brush")  # redrawn
    ActionChains(browser).move_to_element(strips[-1]).click().perform()
    wait_for(lambda: browser.execute_script(
        "var d = document.getElementById('plot-parcoords').cometParcoords;"
        "return d.selected === d.total;"), 10, "a click to clear the brush")
    assert console_errors(browser) == []


def test_slices_use_category_and_log_axes(browser, search, report_page):
    n = len(completed(search))
    assert trace_lengths(browser, "plot-slices") == [n] * 4
    types = browser.execute_script(
        "var l = document.getElementById('plot-slices')._fullLayout;"
        "return [l.xaxis.type, l.xaxis2.type, l.xaxis3.type, l.xaxis4.type];")
    assert types == ["log", "linear", "category", "category"]
    ticks = browser.execute_script(
        "return Array.from(document.querySelectorAll('#plot-slices .xaxislayer-above text'))"
        ".map(function (t) { return t.textContent; });")
    for category in ("relu", "tanh", "gelu"):
        assert category in ticks


def test_importance_says_how_it_was_computed(browser, search, report_page):
    from selenium.webdriver.common.by import By

    method = browser.find_element(By.ID, "importance-method").text
    assert "RandomForestRegressor" in method and "shuffled" in method
    bars = browser.execute_script(
        "return document.getElementById('plot-importance').data[0].y")
    assert sorted(bars) == sorted(search["status"]["parameters"])


def test_timeline_has_one_row_per_worker_and_lists_the_failures(browser, search, report_page):
    from selenium.webdriver.common.by import By

    workers = {(e["host"], e["process"]) for e in search["experiments"]}
    assert len(workers) == 2
    rows = browser.execute_script(
        "var seen = {}; document.getElementById('plot-timeline').data.forEach(function (t) {"
        "  t.y.forEach(function (y) { if (y !== null) seen[y] = 1; }); });"
        "return Object.keys(seen).length;")
    assert rows == len(workers)
    ticks = browser.find_elements(By.CSS_SELECTOR, "#plot-timeline .ytick")
    assert len(ticks) == len(workers)
    bars = sum(trace_lengths(browser, "plot-timeline", "base"))
    assert bars == len(search["experiments"])
    listed = browser.find_elements(By.CSS_SELECTOR, "#failure-list tr")[1:]
    bad = [e for e in search["experiments"] if e["status"] in ("failed", "aborted")]
    assert len(listed) == len(bad) == 2
    text = browser.find_element(By.ID, "failure-list").text
    assert "died" in text and "without" in text.lower() or "metric" in text


def test_repeated_trials_are_shown_as_a_spread(browser, search, report_page):
    from selenium.webdriver.common.by import By

    assert browser.find_element(By.ID, "section-trials").is_displayed()
    note = browser.find_element(By.ID, "trials-note").text
    assert "two or more completed trials" in note
    points = trace_lengths(browser, "plot-trials", "y")
    by_set: dict[str, int] = {}
    for e in completed(search):
        by_set[e["pid"]] = by_set.get(e["pid"], 0) + 1
    assert points == [sum(n for n in by_set.values() if n > 1)]


def test_launcher_wrote_the_report_and_names_the_command(search):
    assert os.path.getsize(search["launched_report"]) > 1_000_000
    assert search["id"] in open(search["launched_report"], encoding="utf-8").read()
    assert f"comet optimize report {search['id']}" in search["launcher_stderr"]
    assert f"report written to {search['launched_report']}" in search["launcher_stderr"]


# -- the dashboard


@pytest.fixture
def dashboard(store):
    """`comet optimize dashboard --port 0` over a fresh store (a folder, then PostgreSQL);
    yields (url, store)."""
    if "://" not in store:
        os.makedirs(store)
    process = subprocess.Popen([*COMET, "dashboard", "--port", "0", "--store", store],
                               env=environment(store), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        assert match, line + process.stderr.read()
        yield match.group(1), store
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_dashboard_shows_a_newly_finished_experiment_without_reload(
        dashboard, browser, shots, tmp_path):
    from selenium.webdriver.common.by import By

    url, store = dashboard
    opt = Optimizer({"algorithm": "random", "spec": {"maxCombo": 50, "seed": 3},
                     "parameters": {"x": {"type": "double", "min": 0.001, "max": 10,
                                          "scalingType": "loguniform"},
                                    "kind": ["a", "b"]}},
                    verbose=0, store=store)
    first = subprocess.run([sys.executable, TEST_WORKER, opt.id, "--stop-after", "10"],
                           env=environment(store), capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    browser.get_log("browser")
    browser.get(url)
    link = wait_for(lambda: browser.find_elements(By.LINK_TEXT, opt.id), 20,
                    "the search in the list")
    shoot(browser, "searches", os.path.join(shots, "dashboard-index.png"))
    link[0].click()
    wait_for(lambda: browser.execute_script(
        "var d = document.getElementById('plot-history-count');"
        "return d && d.data && d.data[0].x.length === 10;"), 30, "ten results drawn")
    marker = browser.execute_script("window.__sameDocument = true; return 1;")
    started = time.monotonic()
    more = subprocess.run([sys.executable, TEST_WORKER, opt.id, "--stop-after", "1"],
                          env=environment(store), capture_output=True, text=True, timeout=60)
    assert more.returncode == 0, more.stderr
    wait_for(lambda: browser.execute_script(
        "return document.getElementById('plot-history-count').data[0].x.length") == 11,
        5, "the eleventh result to appear within 5 s")
    print(f"\nnew result shown {time.monotonic() - started:.2f} s after its worker exited")
    assert browser.execute_script("return window.__sameDocument === true") and marker
    assert browser.find_element(By.ID, "best-score").text == format_score(
        opt.status()["best"]["score"])
    wait_for(lambda: "computed" not in browser.find_element(By.ID, "importance-method").text,
             60, "parameter importance (or why there is none yet)")
    for section in SECTIONS[:-1]:
        shoot(browser, section, os.path.join(shots, f"dashboard-{section}.png"))
    assert console_errors(browser) == []


# -- a big search: densities instead of one mark per experiment


def big_search(n: int = 5000, workers: int = 4) -> tuple[dict, list[dict]]:
    """What `status()` and `experiments()` give for a finished search of ``n`` experiments
    (plain data for the report's builder; the store is exercised by the tests above)."""
    import random

    rng = random.Random(5)
    parameters = {
        "lr": {"type": "double", "min": 1e-5, "max": 1.0, "scalingType": "loguniform"},
        "l2": {"type": "double", "min": 1e-6, "max": 0.1, "scalingType": "loguniform"},
        "depth": {"type": "integer", "min": 1, "max": 8, "scalingType": "uniform"},
        "act": {"type": "categorical", "values": ["relu", "tanh", "gelu"]},
        "batch": {"type": "discrete", "values": [16, 32, 64]},
        "momentum": {"type": "double", "min": 0.0, "max": 0.99, "scalingType": "uniform"},
    }
    start, clock, experiments = 1_800_000_000.0, [0.0] * workers, []
    for count in range(1, n + 1):
        w = count % workers
        p = {"lr": 10 ** rng.uniform(-5, 0), "l2": 10 ** rng.uniform(-6, -1),
             "depth": rng.randint(1, 8), "act": rng.choice(["relu", "tanh", "gelu"]),
             "batch": rng.choice([16, 32, 64]), "momentum": rng.uniform(0, 0.99)}
        state = "failed" if count % 41 == 0 else "completed"
        began, took = start + clock[w], rng.uniform(1, 5)
        clock[w] += took
        experiments.append({
            "count": count, "id": f"{count:032x}", "pid": f"{count:032x}", "trial": 1,
            "retry": 0, "parameters": p, "status": state,
            "score": abs(math.log10(p["lr"]) + 2) + rng.random()
            if state == "completed" else None,
            "host": "node", "process": 100 + w, "startTime": began,
            "endTime": began + took, "reason": "died" if state == "failed" else None,
            "metrics": {}})
    done = [e for e in experiments if e["status"] == "completed"]
    best = min(done, key=lambda e: e["score"])
    status = {"id": "f" * 32, "algorithm": "random", "status": "completed", "budget": n,
              "trials": 1, "assigned": n, "running": 0, "completed": len(done),
              "aborted": 0, "failed": n - len(done), "store": "synthetic",
              "started": start, "spec": {"metric": "loss", "objective": "minimize"},
              "parameters": parameters, "best": best}
    return status, experiments


def test_a_big_search_is_drawn_as_densities(browser, shots, tmp_path):
    from comet_optimize.report import payload_of
    from comet_optimize.report.page import report_html

    status, experiments = big_search()
    completed_n = status["completed"]
    path = tmp_path / "big.html"
    path.write_text(report_html(payload_of(status, experiments)), encoding="utf-8")
    browser.get_log("browser")
    browser.set_script_timeout(300)
    browser.get(f"file://{path}")
    wait_for(lambda: browser.execute_script(
        "return document.body.getAttribute('data-rendered')"), 600, "the big report")
    sums = browser.execute_script(
        "function total(t) { var n = 0; t.z.forEach(function (row) { row.forEach("
        "function (v) { n += v || 0; }); }); return n; }"
        "return ['plot-history-count', 'plot-history-time', 'plot-slices'].map(function (id) {"
        "  return document.getElementById(id).data.filter(function (t) {"
        "    return t.type === 'heatmap'; }).map(total); });")
    assert sums == [[completed_n], [completed_n], [completed_n] * 6]
    drawn = browser.execute_script(
        "return document.getElementById('plot-parcoords').cometParcoords")
    assert drawn["lines"] == 1000 and drawn["total"] == completed_n
    from selenium.webdriver.common.by import By

    assert browser.find_element(By.ID, "parcoords-method").text.startswith(
        f"Showing 1000 of the {completed_n} completed experiments")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#plot-timeline .ytick")) == 4
    for section in ("section-history", "section-slices", "section-timeline"):
        shoot(browser, section, os.path.join(shots, f"big-report-{section}.png"))
    assert console_errors(browser) == []
