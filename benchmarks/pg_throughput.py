"""Many processes on one random search through PostgreSQL, against Optuna's RDB storage.

For each worker count, W processes share one search of E experiments with a
trivial objective, through (1) our PostgreSQL store, (2) Optuna 5's RDB
storage (SQLAlchemy + psycopg 3) on the same server, and (3) our file store.
Each worker times every "give me the next experiment" call (ours: one step of
``get_experiments()``, which records the previous result in the same write;
Optuna: ``ask()`` + ``tell()``), so the worst single wait shows lock
starvation. Workers report the CPU they used, and the server's CPU is read from
/proc (the data folder .ci/with-postgres names), so each row also says what an
experiment costs in CPU: on a machine whose cores are all busy, that, not the
lock, sets the pace. Then the cost of one bayes suggestion with 1,000 finished
trials, PostgreSQL against the file store.

``--ceiling`` measures what the lock allows with no Python work at all: W
processes make lock passes of the store's own prepared statements, either as a
decision does (``decision``: BEGIN + lock + read what is new, then insert two
events + COMMIT + flush; the client is inside the lock between the two round
trips) or with the client outside (``server_only``: the same statements in one
round trip, as a write that needs no decision could be). The first is the
ceiling of one decision per experiment, whatever the Python costs.

    flock /tmp/timing.lock .ci/with-postgres python benchmarks/pg_throughput.py \
        [--experiments 5000] [--workers 4,16,64] [--optuna-experiments 1000] \
        [--stores postgres,file,optuna_rdb] [--skip-bayes] [--url URL] [--ceiling]

``--priority N``: on Linux with autogroup scheduling (``/proc/sys/kernel/
sched_autogroup_enabled`` = 1), the kernel shares the CPU between sessions
before it looks at ``nice``: a background job started in another session at
nice 19 still takes its session's share (a third of the machine when this
benchmark's workers, the server and that job are the three busy sessions).
This gives the benchmark's session and the server's the autogroup nice -N, so
that nice 19 work yields to it as intended; the figures say which was used.

``--split`` says where a worker's CPU goes (our stores only): each worker times a few
functions with ``time.process_time`` (each section's own time, without the sections it
calls) and the table is printed per worker count, in ms per experiment: the fold of
events into the search's state (``fold``: others' events, and its own), their parse
(``parse``, PostgreSQL's read), the round trips (``round trips``: libpq and psycopg), the
rest of the reserved start (``start, other``: the write's own Python), the choice of
parameters, the decisions' own work, the liveness check, and the Experiment API.

The server URL comes from --url or COMET_OPTIMIZE_TEST_PG (what
.ci/with-postgres sets). Each of our runs gets a fresh schema, each Optuna
run a fresh database. COMET_OPTIMIZE_PG_SYNC_COMMIT=1 measures the slower
design (the commit's disk flush inside the lock).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import tempfile
import time
import uuid

import numpy as np

CONFIG = {"algorithm": "random",
          "parameters": {"x": {"type": "double", "min": -5.0, "max": 5.0},
                         "y": {"type": "double", "min": -5.0, "max": 5.0}}}


# --split: section name -> (module, class or None, function), timed in each worker.
SECTIONS = {
    "fold": ("comet_optimize.optimizer", "Optimizer", "_apply"),
    "parse": ("comet_optimize.store.postgres", "PostgresJournal", "_fold"),
    "round trips": ("comet_optimize.store.pipeline", None, "run"),
    "start, other": ("comet_optimize.optimizer", "Optimizer", "_start_reserved"),
    "choice": ("comet_optimize.optimizer", "Optimizer", "_choose"),
    "decision, other": ("comet_optimize.optimizer", "Optimizer", "_transaction"),
    "liveness": ("comet_optimize.optimizer", "Optimizer", "_fail_dead_workers"),
    "Experiment()": ("comet_optimize.experiment", "Experiment", "__init__"),
    "log_metric": ("comet_optimize.experiment", "Experiment", "log_metric"),
    "result event": ("comet_optimize.optimizer", "Optimizer", "_result_event"),
}


def time_sections() -> dict[str, float]:
    """Wrap the `SECTIONS` so that each adds its own processor time (without the time of
    the sections it calls) to the returned dict."""
    import importlib

    spent: dict[str, float] = {}
    stack: list[float] = []

    def timed(name, function):
        def wrapper(*args, **kwargs):
            began = time.process_time()
            stack.append(0.0)
            try:
                return function(*args, **kwargs)
            finally:
                took = time.process_time() - began
                spent[name] = spent.get(name, 0.0) + took - stack.pop()
                if stack:
                    stack[-1] += took
        return wrapper

    for name, (module, owner, function) in SECTIONS.items():
        holder = importlib.import_module(module)
        if owner is not None:
            holder = getattr(holder, owner)
        setattr(holder, function, timed(name, getattr(holder, function)))
    return spent


def ours_worker(optimizer_id: str, store: str, split: bool, barrier, queue) -> None:
    from comet_optimize import Optimizer

    spent = time_sections() if split else None
    opt = Optimizer(optimizer_id, verbose=0, store=store)
    waits = []
    barrier.wait()
    cpu = time.process_time()
    if spent:
        spent.clear()
    experiments = opt.get_experiments()
    while True:
        start = time.perf_counter()
        experiment = next(experiments, None)
        waits.append(time.perf_counter() - start)
        if experiment is None:
            break
        experiment.log_metric("loss", experiment.params["x"] ** 2 + experiment.params["y"] ** 2)
    queue.put((time.perf_counter(), waits, time.process_time() - cpu, spent))


def optuna_worker(url: str, trials: int, barrier, queue) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(url)
    study = optuna.load_study(study_name="bench", storage=storage,
                              sampler=optuna.samplers.RandomSampler())
    waits = []
    barrier.wait()
    cpu = time.process_time()
    for _ in range(trials):
        start = time.perf_counter()
        trial = study.ask()
        x, y = trial.suggest_float("x", -5, 5), trial.suggest_float("y", -5, 5)
        study.tell(trial, x * x + y * y)
        waits.append(time.perf_counter() - start)
    queue.put((time.perf_counter(), waits, time.process_time() - cpu, None))


def server_cpu_seconds() -> float | None:
    """CPU the server's processes used so far (ended sessions included), or None.

    Read from /proc: the postmaster's own and reaped children's time, plus its
    living children's (needs the data folder .ci/with-postgres names).
    """
    data = os.environ.get("COMET_OPTIMIZE_TEST_PG_DATA")
    try:
        with open(os.path.join(data or "", "postmaster.pid")) as handle:
            postmaster = int(handle.readline())
        ticks = os.sysconf("SC_CLK_TCK")

        def fields(pid: int) -> list[str]:
            with open(f"/proc/{pid}/stat") as stat:
                return stat.read().rsplit(")", 1)[1].split()

        own = fields(postmaster)
        total = sum(int(value) for value in own[11:15])  # utime stime cutime cstime
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    child = fields(int(pid))
                except OSError:
                    continue
                if int(child[1]) == postmaster:
                    total += int(child[11]) + int(child[12])
        return total / ticks
    except (OSError, ValueError):
        return None


def run(target, args_for, processes: int) -> dict:
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(processes + 1), ctx.Queue()
    workers = [ctx.Process(target=target, args=(*args_for, barrier, queue))
               for _ in range(processes)]
    for worker in workers:
        worker.start()
    barrier.wait(timeout=600)
    server = server_cpu_seconds()
    start = time.perf_counter()
    results = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    end = max(finished for finished, _, _, _ in results)
    waits = np.concatenate([w for _, w, _, _ in results]) * 1000
    after = server_cpu_seconds()
    split: dict[str, float] = {}
    for _, _, _, spent in results:
        for name, seconds in (spent or {}).items():
            split[name] = split.get(name, 0.0) + seconds
    return {"seconds": end - start, "median_wait_ms": float(np.median(waits)),
            "p99_wait_ms": float(np.percentile(waits, 99)), "worst_wait_ms": float(waits.max()),
            "client_cpu_seconds": sum(cpu for _, _, cpu, _ in results),
            "server_cpu_seconds": None if server is None or after is None else after - server,
            "split_cpu_seconds": split}


def take_priority(level: int) -> str:
    """Autogroup nice -level for this session and the server's (see the docstring)."""
    done = []
    targets = [("self", "benchmark")]
    data = os.environ.get("COMET_OPTIMIZE_TEST_PG_DATA")
    if data:
        try:
            with open(os.path.join(data, "postmaster.pid")) as handle:
                targets.append((handle.readline().strip(), "server"))
        except OSError:
            pass
    for pid, name in targets:
        try:
            with open(f"/proc/{pid}/autogroup", "w") as handle:
                handle.write(str(-level))
            done.append(name)
        except OSError:
            pass
    return f"autogroup nice -{level} for {' and '.join(done) or 'nothing (not allowed)'}"


def fresh_schema(url: str) -> str:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def fresh_database(url: str) -> str:
    """A new database on the same server, as a SQLAlchemy URL for Optuna."""
    import psycopg

    name = f"optuna_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    base, _, _ = url.partition("?")
    head = base.rsplit("/", 1)[0]
    return head.replace("postgresql://", "postgresql+psycopg://", 1) + "/" + name


def ours(store: str, experiments: int, workers: int, split: bool = False) -> dict:
    from comet_optimize import Optimizer

    opt = Optimizer({**CONFIG, "spec": {"maxCombo": experiments}}, verbose=0, store=store)
    result = run(ours_worker, (opt.id, store, split), workers)
    status = Optimizer(opt.id, verbose=0, store=store).status()
    assert status["completed"] == experiments, status
    return result


def optuna_rdb(url: str, experiments: int, workers: int) -> dict:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    database = fresh_database(url)
    optuna.create_study(study_name="bench", storage=optuna.storages.RDBStorage(database))
    return run(optuna_worker, (database, experiments // workers), workers)


def bayes_cost(store: str, trials: int, samples: int) -> float:
    """Milliseconds per ``next()`` of bayes with ``trials`` finished (one process)."""
    from comet_optimize import Optimizer

    opt = Optimizer({**CONFIG, "algorithm": "bayes",
                     "spec": {"maxCombo": trials + samples + 10}}, verbose=0, store=store)
    experiments = opt.get_experiments()
    for _ in range(trials):
        experiment = next(experiments)
        experiment.log_metric("loss", experiment.params["x"] ** 2 + experiment.params["y"] ** 2)
    waits = []
    for _ in range(samples):
        start = time.perf_counter()
        experiment = next(experiments)
        waits.append(time.perf_counter() - start)
        experiment.log_metric("loss", experiment.params["x"] ** 2)
    return float(np.median(waits) * 1000)


def ceiling_worker(url: str, mode: str, passes: int, barrier, queue) -> None:
    """Lock passes with no decision: what the lock and the round trips alone allow."""
    import psycopg

    from comet_optimize.store import pipeline
    from comet_optimize.store import postgres as pg

    conn = psycopg.connect(url, autocommit=True)
    prepared: set[bytes] = set()
    search = b"ceiling"  # one search for every worker, one lock key
    body = pipeline.text_array(['{"v":1,"type":"end","count":1,"status":"completed",'
                                '"score":1.0,"time":1.0}'] * 2)
    lock = [b"off", b"0", str(pg._LOCK_SPACE).encode(), b"1"]
    last = 0
    waits = []
    barrier.wait()
    cpu = time.process_time()
    for _ in range(passes):
        start = time.perf_counter()
        insert = (pg._P_INSERT, [search, str(uuid.uuid4()).encode(), body])
        if mode == "decision":
            results = pipeline.run(conn, prepared, [
                (pg._P_BEGIN, None), (pg._P_LOCK, lock),
                (pg._P_SELECT_NEW, [search, str(last).encode()])])
            if results[-1].ntuples:
                last = int(results[-1].get_value(results[-1].ntuples - 1, 0))
            results = pipeline.run(conn, prepared, [
                insert, (pg._P_COMMIT, None), (pg._P_FLUSH, None)])
            last = int(results[0].get_value(1, 0))
        else:
            pipeline.run(conn, prepared, [(pg._P_BEGIN, None), (pg._P_LOCK, lock), insert,
                                          (pg._P_COMMIT, None), (pg._P_FLUSH, None)])
        waits.append(time.perf_counter() - start)
    queue.put((time.perf_counter(), waits, time.process_time() - cpu, None))


def ceiling(url: str, mode: str, passes: int, workers: int) -> dict:
    from comet_optimize.store.postgres import PostgresStore

    PostgresStore(url)._ensure_schema(create=True)
    return run(ceiling_worker, (url, mode, passes // workers), workers)


def print_row(workers: int, name: str, result: dict, count: int) -> None:
    """One row of the table (and, with --split, where the workers' CPU went)."""
    print(f"| {workers} | {name} | {count / result['seconds']:.0f} | "
          f"{result['median_wait_ms']:.2f} | {result['p99_wait_ms']:.2f} | "
          f"{result['worst_wait_ms']:.1f} | "
          f"{result['client_cpu_seconds'] * 1000 / count:.2f} | "
          f"{server_ms(result, count)} | {os.getloadavg()[0]:.1f} |", flush=True)
    if result.get("split_cpu_seconds"):
        split = result["split_cpu_seconds"]
        rest = result["client_cpu_seconds"] - sum(split.values())
        print("    " + ", ".join(f"{part} {seconds * 1000 / count:.3f}" for part, seconds
                                 in sorted(split.items(), key=lambda item: -item[1]))
              + f", the rest {rest * 1000 / count:.3f} ms/exp", flush=True)


def server_ms(result: dict, count: int) -> str:
    seconds = result.get("server_cpu_seconds")
    return "-" if seconds is None else f"{seconds * 1000 / count:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=5000)
    parser.add_argument("--workers", default="4,16,64")
    parser.add_argument("--optuna-experiments", type=int, default=None,
                        help="experiments for Optuna (default: the same)")
    parser.add_argument("--skip-optuna", action="store_true")
    parser.add_argument("--stores", default="postgres,file,optuna_rdb",
                        help="which of postgres, file, optuna_rdb to run")
    parser.add_argument("--skip-bayes", action="store_true")
    parser.add_argument("--ceiling", action="store_true",
                        help="lock passes with no Python work instead (see the docstring)")
    parser.add_argument("--priority", type=int, default=0,
                        help="autogroup nice -N for the benchmark and the server (see above)")
    parser.add_argument("--split", action="store_true",
                        help="where our workers' CPU goes, by section (see the docstring)")
    parser.add_argument("--url", default=os.environ.get("COMET_OPTIMIZE_TEST_PG"))
    parser.add_argument("--out", default="benchmarks/results/pg_throughput.json")
    args = parser.parse_args()
    if args.ceiling:
        args.stores, args.skip_bayes = "decision,server_only", True
    if not args.url:
        parser.error("no server: give --url or run under .ci/with-postgres")

    rows = []
    priority = take_priority(args.priority) if args.priority else "no priority"
    print(f"{args.experiments} experiments, random search, trivial objective; "
          f"load average {os.getloadavg()[0]:.1f}; {priority}")
    print("| workers | store | experiments/s | median wait ms | p99 wait ms | worst wait ms "
          "| client CPU ms/exp | server CPU ms/exp | load |")
    print("|---|---|---|---|---|---|---|---|---|")
    for workers in [int(w) for w in args.workers.split(",")]:
        runs = {"postgres": lambda w=workers: ours(fresh_schema(args.url), args.experiments, w,
                                                   args.split),
                "file": lambda w=workers: ours(tempfile.mkdtemp(prefix="comet-bench-"),
                                               args.experiments, w, args.split)}
        if args.ceiling:
            runs = {mode: lambda w=workers, m=mode: ceiling(fresh_schema(args.url), m,
                                                            args.experiments, w)
                    for mode in ("decision", "server_only")}
        elif not args.skip_optuna:
            count = args.optuna_experiments or args.experiments
            runs["optuna_rdb"] = lambda w=workers, n=count: {
                **optuna_rdb(args.url, n, w), "experiments": n}
        for name, function in runs.items():
            if name not in args.stores.split(","):
                continue
            result = function()
            count = result.get("experiments", args.experiments)
            result.update(workers=workers, store=name, load=os.getloadavg()[0],
                          experiments_per_second=count / result["seconds"])
            rows.append(result)
            print_row(workers, name, result, count)
    bayes = {}
    if not args.skip_bayes:
        bayes = {"postgres_ms": bayes_cost(fresh_schema(args.url), 1000, 30),
                 "file_ms": bayes_cost(tempfile.mkdtemp(prefix="comet-bench-"), 1000, 30)}
        print(f"bayes, one next() at 1,000 finished trials (median of 30): "
              f"PostgreSQL {bayes['postgres_ms']:.1f} ms, file {bayes['file_ms']:.1f} ms")
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump({"runs": rows, "bayes": bayes, "priority": priority,
                   "sync_commit": os.environ.get("COMET_OPTIMIZE_PG_SYNC_COMMIT") == "1"},
                  handle, indent=2)


if __name__ == "__main__":
    main()
