"""The report and the dashboard at scale: 20,000 experiments x 12 parameters.

Targets (issue 11): the report renders in headless Chromium in under 2 s and
stays under 10 MB; one live refresh of the dashboard costs the server under
50 ms. The search is synthetic: created through the API, then its journal is
written directly (what 20,000 experiments of 8 workers on 8 hosts would have
appended), so the benchmark takes seconds to set up instead of hours.

Measured:
* ``render``: Python time of `comet_optimize.report.render` (reading the
  search, fitting the importance forest, writing the HTML), and the file size;
* ``browser``: from navigation start to every plot drawn, in headless
  Chromium (median of --repeats loads); how long each view took to draw
  (``window.cometTimings``); the same for an empty page that only parses
  plotly.js (the floor no report can beat); and CPU time of the page's main
  thread and of every Chromium process;
* ``webgl_parcoords`` (with --compare-webgl): Plotly's own WebGL ``parcoords``
  trace over the same 1,000 lines, alone on a page, for comparison with the
  SVG parallel coordinates the report draws (docs/report.md says why);
* ``refresh``: the dashboard's `SearchFeed.delta` on that search, when nothing
  happened and after 10 new experiments were appended (median of 4 x --repeats);
  ``--store URL`` measures it on a PostgreSQL store instead of a folder.

    flock /tmp/timing.lock python benchmarks/report_scale.py [--repeats 5] [--compare-webgl]

Writes benchmarks/results/report_scale.json and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))

PARAMETERS = {
    **{f"lr{i}": {"type": "double", "min": 1e-5, "max": 1.0, "scalingType": "loguniform"}
       for i in range(4)},
    **{f"w{i}": {"type": "double", "min": -1.0, "max": 1.0} for i in range(3)},
    "layers": {"type": "integer", "min": 1, "max": 12},
    "units": {"type": "integer", "min": 8, "max": 512},
    "activation": ["relu", "tanh", "gelu", "silu"],
    "optimizer": ["adam", "sgd", "rmsprop"],
    "batch": [16, 32, 64, 128, 256],
}
WORKERS = 8


def draw(rng: np.random.Generator) -> dict:
    params = {}
    for name, spec in PARAMETERS.items():
        if isinstance(spec, list):
            params[name] = spec[int(rng.integers(len(spec)))]
        elif spec["type"] == "integer":
            params[name] = int(rng.integers(spec["min"], spec["max"] + 1))
        elif spec.get("scalingType") == "loguniform":
            params[name] = float(np.exp(rng.uniform(np.log(spec["min"]), np.log(spec["max"]))))
        else:
            params[name] = float(rng.uniform(spec["min"], spec["max"]))
    return params


def events(first: int, n: int, start: float, rng: np.random.Generator) -> list[dict]:
    """Assign and end events of experiments first..first+n-1, round-robin over the workers."""
    from comet_optimize.space import parameter_set_id

    out = []
    clock = [start] * WORKERS
    for count in range(first, first + n):
        worker = count % WORKERS
        params = draw(rng)
        began = clock[worker]
        took = float(rng.gamma(2.0, 1.5))
        clock[worker] = began + took + 0.01
        out.append({"type": "assign", "count": count, "experiment": uuid.uuid4().hex,
                    "pid": parameter_set_id(params), "trial": 1, "retry": 0, "params": params,
                    "host": f"node{worker}", "process": 4000 + worker, "process_start": 1,
                    "boot": "", "pidns": 0, "time": began})
        state = "failed" if count % 97 == 0 else "aborted" if count % 131 == 0 else "completed"
        loss = (sum((np.log10(params[f"lr{i}"]) + 2.5) ** 2 for i in range(4))
                + params["w0"] ** 2 + 0.05 * params["layers"] + float(rng.normal(0, 0.3)))
        end = {"type": "end", "count": count, "status": state, "time": began + took,
               "score": loss if state == "completed" else None,
               "metrics": {"loss": {"count": 1, "last": loss}} if state == "completed" else {}}
        if state == "failed":
            end["reason"] = f"worker process {4000 + worker} on node{worker} died"
        out.append(end)
    return out


def append(journal: str, new: list[dict]) -> None:
    """Events written as workers would have (a file's lines, or the PostgreSQL store's
    own append: ``journal`` is then "store URL|optimizer id")."""
    if "|" in journal:
        from comet_optimize.store import open_store

        url, optimizer_id = journal.split("|")
        handle = open_store(url).journal(optimizer_id)
        try:
            for first in range(0, len(new), 2000):
                with handle.locked():
                    handle.append(new[first:first + 2000])
        finally:
            handle.close()
        return
    with open(journal, "a", encoding="utf-8") as handle:
        handle.write("".join(json.dumps({"v": 1, **e}, separators=(",", ":")) + "\n"
                             for e in new))


def make_search(store: str, n: int) -> tuple[str, str, float]:
    from comet_optimize import Optimizer

    opt = Optimizer({"algorithm": "random", "parameters": PARAMETERS,
                     "spec": {"maxCombo": 10 * n, "seed": 1}}, verbose=0, store=store)
    journal = (f"{store}|{opt.id}" if "://" in store
               else os.path.join(store, opt.id, "journal.jsonl"))
    start = time.time() - 3600
    append(journal, events(1, n, start, np.random.default_rng(0)))
    return opt.id, journal, start


def median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


def bench_render(optimizer_id: str, store: str, folder: str) -> tuple[dict, str]:
    from comet_optimize import Optimizer
    from comet_optimize.report import render

    start = time.perf_counter()
    html = render(Optimizer(optimizer_id, verbose=0, store=store))
    seconds = time.perf_counter() - start
    path = os.path.join(folder, "report.html")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(html)
    return {"python_render_s": round(seconds, 2),
            "file_mb": round(os.path.getsize(path) / 1e6, 2)}, path


def browser_cpu_seconds(browser) -> float:
    """CPU time of every Chromium process so far (renderer, GPU process running WebGL in
    software, browser): the whole cost of a page on a machine without a GPU."""
    import psutil

    total = 0.0
    for child in psutil.Process(browser.service.process.pid).children(recursive=True):
        try:
            times = child.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def cpu_seconds(browser) -> float:
    """CPU time of the page's renderer main thread so far (Chromium's own count): what the
    page costs, whatever else the machine is doing (wall times here depend on the load)."""
    browser.execute_cdp_cmd("Performance.enable", {"timeDomain": "threadTicks"})
    metrics = browser.execute_cdp_cmd("Performance.getMetrics", {})["metrics"]
    return next(m["value"] for m in metrics if m["name"] == "ThreadTime")


def bench_browser(report: str, folder: str, repeats: int) -> dict:
    from browser import console_errors, start_browser, wait_for
    from plotly.offline import get_plotlyjs

    empty = os.path.join(folder, "plotly-only.html")
    with open(empty, "w", encoding="utf-8") as handle:
        handle.write(f"<!doctype html><html><head><script>{get_plotlyjs()}</script></head>"
                     "<body><script>document.body.setAttribute('data-rendered',"
                     "String(performance.now()));</script></body></html>")
    browser = start_browser()
    results: dict[str, list[float]] = {"report": [], "plotly_only": []}
    views: dict[str, list[float]] = {}
    try:
        for _ in range(repeats):
            for key, path in (("report", report), ("plotly_only", empty)):
                browser.get("about:blank")
                before, before_all = cpu_seconds(browser), browser_cpu_seconds(browser)
                browser.get("file://" + path)
                done = wait_for(lambda: browser.execute_script(
                    "return document.body && document.body.getAttribute('data-rendered')"),
                    600, "the page to render")
                results[key].append(float(done) / 1000)
                results.setdefault(key + "_cpu", []).append(cpu_seconds(browser) - before)
                results.setdefault(key + "_all_cpu", []).append(
                    browser_cpu_seconds(browser) - before_all)
                if key == "report":
                    timings = browser.execute_script("return window.cometTimings")
                    for view, ms in timings.items():
                        views.setdefault(view, []).append(ms / 1000)
        browser.get("file://" + report)  # last: the report, to check what it drew
        wait_for(lambda: browser.execute_script(
            "return document.body.getAttribute('data-rendered')"), 120, "the report")
        errors = console_errors(browser)
        drawn = browser.execute_script(
            "var pc = document.getElementById('plot-parcoords').cometParcoords;"
            "return {axes: pc.axes.length, lines: pc.lines, results: pc.total,"
            " webgl_canvases: document.querySelectorAll('canvas').length,"
            " plots: document.querySelectorAll('.js-plotly-plot').length,"
            " workers: document.getElementById('plot-timeline')"
            "._fullLayout.yaxis._categories.length};")
    finally:
        browser.quit()
    return {"browser_render_ms": median_ms(results["report"]),
            "browser_render_all_ms": [round(v * 1000) for v in results["report"]],
            "browser_views_ms": {view: median_ms(v) for view, v in views.items()},
            "plotly_js_parse_only_ms": median_ms(results["plotly_only"]),
            "renderer_main_thread_cpu_ms": median_ms(results["report_cpu"]),
            "renderer_main_thread_cpu_plotly_only_ms": median_ms(results["plotly_only_cpu"]),
            "all_chromium_processes_cpu_ms": median_ms(results["report_all_cpu"]),
            "console_errors": errors, "drawn": drawn}


def bench_webgl_parcoords(report: str, folder: str, repeats: int) -> dict:
    """Plotly's WebGL parcoords trace over the report's own 1,000 lines, alone on a page."""
    from browser import start_browser, wait_for
    from plotly.offline import get_plotlyjs

    from comet_optimize.report.page import views_js

    page = os.path.join(folder, "webgl-parcoords.html")
    with open(report, encoding="utf-8") as handle:
        text = handle.read()
    start = text.index('<script type="application/json" id="comet-data">')
    data = text[start:text.index("</script>", start) + len("</script>")]
    with open(page, "w", encoding="utf-8") as handle:
        handle.write(
            f"<!doctype html><html><head><script>{get_plotlyjs()}</script>"
            f"<script>{views_js()}</script></head><body><div id='pc'></div>{data}<script>"
            "var p = JSON.parse(document.getElementById('comet-data').textContent);"
            "var dims = CometReport.parcoordsDimensions(p);"
            "var t0 = performance.now();"
            "Plotly.newPlot('pc', [{type: 'parcoords', dimensions: dims.dimensions,"
            " line: {color: dims.scores, colorscale: 'Viridis'}}], {height: 460})"
            ".then(function () { document.body.setAttribute('data-rendered',"
            " String(performance.now() - t0)); });</script></body></html>")
    browser = start_browser()
    times = []
    try:
        for _ in range(repeats):
            browser.get("about:blank")
            browser.get("file://" + page)
            times.append(float(wait_for(lambda: browser.execute_script(
                "return document.body && document.body.getAttribute('data-rendered')"),
                600, "the WebGL parcoords")) / 1000)
    finally:
        browser.quit()
    return {"webgl_parcoords_alone_ms": median_ms(times)}


def bench_refresh(optimizer_id: str, store: str, journal: str, n: int, start: float,
                  repeats: int) -> dict:
    from comet_optimize import Optimizer
    from comet_optimize.report.feed import SearchFeed

    feed = SearchFeed(Optimizer(optimizer_id, verbose=0, store=store))
    begin = time.perf_counter()
    version = feed.delta(None)["version"]
    first = time.perf_counter() - begin
    idle, busy, busy_cpu, sizes = [], [], [], []
    rng = np.random.default_rng(1)
    count = n + 1
    for _ in range(repeats):
        begin = time.perf_counter()
        delta = feed.delta(version)
        idle.append(time.perf_counter() - begin)
        assert delta["rows"] == []
        append(journal, events(count, 10, start + 7200, rng))
        count += 10
        begin, begin_cpu = time.perf_counter(), time.thread_time()
        delta = feed.delta(version)
        busy.append(time.perf_counter() - begin)
        busy_cpu.append(time.thread_time() - begin_cpu)
        assert len(delta["rows"]) == 10, len(delta["rows"])
        sizes.append(len(json.dumps(delta)))
        version = delta["version"]
    return {"first_load_ms": round(first * 1000, 1), "refresh_nothing_new_ms": median_ms(idle),
            "refresh_10_new_ms": median_ms(busy),
            "refresh_10_new_cpu_ms": median_ms(busy_cpu),
            "refresh_10_new_all_ms": [round(v * 1000, 1) for v in busy],
            "delta_bytes": int(statistics.median(sizes))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--experiments", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--store", help="a PostgreSQL URL to measure that store (default: a "
                                        "new folder)")
    parser.add_argument("--compare-webgl", action="store_true",
                        help="also time Plotly's WebGL parcoords over the same lines")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="report-scale-")
    store = args.store or os.path.join(folder, "store")
    optimizer_id, journal, start = make_search(store, args.experiments)
    result = {"experiments": args.experiments, "parameters": len(PARAMETERS),
              "workers": WORKERS, "load_average": os.getloadavg()[0],
              "store": "postgresql" if "://" in store else "file"}
    rendered, report = bench_render(optimizer_id, store, folder)
    result.update(rendered)
    if not args.skip_browser:
        result.update(bench_browser(report, folder, args.repeats))
        if args.compare_webgl:
            result.update(bench_webgl_parcoords(report, folder, args.repeats))
    result.update(bench_refresh(optimizer_id, store, journal, args.experiments, start,
                                args.repeats * 4))
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    name = "report_scale.json" if "://" not in store else "report_scale_postgres.json"
    with open(os.path.join(HERE, "results", name), "w") as handle:
        json.dump(result, handle, indent=2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
