"""No result is lost, doubled or mis-recorded, however a script uses the API (issue 7).

Threads, fork, several open experiments, values of every type, journals with
damage in the middle: after each, the journal alone must say exactly what the
script logged.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import threading
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from comet_optimize import Experiment, Optimizer, OptimizerException, encoding
from comet_optimize.events import assigned_keys
from tests.conftest import stored_events

WIDE = {"algorithm": "random", "spec": {"maxCombo": 100000, "seed": 1},
        "parameters": {"x": {"type": "double", "min": 0.0, "max": 1.0}}}


def journal_events(store: str, optimizer_id: str) -> list[dict]:
    return stored_events(store, optimizer_id)


def assert_journal_consistent(store: str, optimizer_id: str) -> dict[int, dict]:
    """Every count unique and contiguous; one final outcome per count. Returns count -> end."""
    events = journal_events(store, optimizer_id)  # fully parseable, or this raises
    counts = [e["count"] for e in events if e["type"] == "assign"]
    assert len(counts) == len(set(counts)), "an experiment number was handed out twice"
    assert sorted(counts) == list(range(1, len(counts) + 1)), "experiment numbers have a gap"
    outcome: dict[int, dict] = {}
    for event in events:
        if event["type"] == "end":
            assert event["count"] not in outcome, f"#{event['count']} ended twice"
            outcome[event["count"]] = event
        elif event["type"] == "update":
            outcome[event["count"]] = event
    return outcome


# -- 1. threads

def test_threads_sharing_one_optimizer_record_every_result_once(store):
    opt = Optimizer(WIDE, verbose=0, store=store)
    logged: dict[int, float] = {}
    guard = threading.Lock()
    errors = []

    def work(index: int) -> None:
        try:
            for step in range(100):
                experiment = opt.next()
                value = index * 1000 + step + experiment.params["x"]
                experiment.log_metric("loss", value)
                experiment.end()
                with guard:
                    logged[experiment.count] = value
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    outcome = assert_journal_consistent(store, opt.id)
    assert len(logged) == 800 and set(outcome) == set(logged)
    assert all(outcome[c]["status"] == "completed" and outcome[c]["score"] == v
               for c, v in logged.items())
    status = Optimizer(opt.id, verbose=0, store=store).status()
    assert (status["assigned"], status["completed"], status["running"]) == (800, 800, 0)


@pytest.mark.parametrize("algorithm", ["random", "grid"])
def test_threads_each_looping_over_get_experiments_share_one_search(store, algorithm):
    """Each thread's loop takes reservations from the one Optimizer: one thread's start
    must not find its reservation taken by another's (IndexError in three of four)."""
    config = {"algorithm": algorithm, "spec": {"maxCombo": 400, "gridSize": 400, "seed": 2},
              "parameters": {"x": {"type": "double", "min": 0, "max": 1}}}
    opt = Optimizer(config, verbose=0, store=store)
    logged: dict[int, float] = {}
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for experiment in opt.get_experiments():
                experiment.log_metric("loss", experiment.params["x"])
                logged[experiment.count] = experiment.params["x"]
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, repr(errors[0])
    # (A released reservation is assigned again under its number: counts may repeat.)
    ends = [e for e in stored_events(store, opt.id) if e["type"] == "end"]
    assert len(ends) == len({e["count"] for e in ends}) == len(logged) == 400
    assert all(e["status"] == "completed" and e["score"] == logged[e["count"]] for e in ends)
    status = Optimizer(opt.id, verbose=0, store=store).status()
    assert (status["assigned"], status["completed"], status["running"]) == (400, 400, 0)


def test_threads_logging_to_one_experiment_lose_no_metric(store):
    opt = Optimizer(WIDE, verbose=0, store=store)
    experiment = opt.next()

    def work(index: int) -> None:
        for step in range(200):
            experiment.log_metric(f"m{index}", step, step=step)
            experiment.log_metric("loss", index + step / 1000)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    experiment.end()
    end = assert_journal_consistent(store, opt.id)[experiment.count]
    assert end["metrics"]["loss"]["count"] == 800
    assert all(end["metrics"][f"m{i}"]["count"] == 200 for i in range(4))
    assert end["score"] == 0.0


# -- 2. fork

def test_forked_children_each_get_their_own_journal_and_lock(store):
    opt = Optimizer(WIDE, verbose=0, store=store)
    first = opt.next()  # open in the parent across the fork: stays the parent's
    children = []
    for index in range(8):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            code = 0
            try:
                for _ in range(50):
                    experiment = opt.next()
                    experiment.log_metric("loss", index + experiment.params["x"])
                    experiment.end()
            except BaseException:
                code = 1
            os._exit(code)
        children.append(pid)
    assert all(os.waitpid(pid, 0)[1] == 0 for pid in children)
    assert not first.ended
    first.log_metric("loss", 42.0)
    first.end()
    outcome = assert_journal_consistent(store, opt.id)
    assert len(outcome) == 401 and all(e["status"] == "completed" for e in outcome.values())
    assert outcome[first.count]["score"] == 42.0
    status = Optimizer(opt.id, verbose=0, store=store).status()
    assert (status["assigned"], status["completed"], status["running"]) == (401, 401, 0)


def _train_in_pool(data: dict) -> float:
    experiment = Experiment(optimizer_data=data)
    loss = data["parameters"]["x"] * 10
    experiment.log_metric("loss", loss)
    experiment.end()
    return loss


def test_a_fork_pool_over_batches_of_next_data_loses_nothing(store):
    opt = Optimizer(WIDE, verbose=0, store=store)
    batch = [opt.next_data() for _ in range(8)]
    with multiprocessing.get_context("fork").Pool(4) as pool:
        losses = pool.map(_train_in_pool, batch)
    outcome = assert_journal_consistent(store, opt.id)
    assert [outcome[d["count"]]["score"] for d in batch] == losses
    assert opt.status()["completed"] == 8


# -- 3. several open experiments

def test_next_data_batches_stay_open_until_each_ends(store):
    opt = Optimizer(WIDE, verbose=0, store=store)
    batch = [opt.next_data() for _ in range(3)]
    assert opt.status()["running"] == 3
    for index, data in enumerate(batch):
        experiment = Experiment(optimizer_data=json.loads(json.dumps(data)))
        experiment.log_metric("loss", float(index))
        experiment.end()
    outcome = assert_journal_consistent(store, opt.id)
    assert [outcome[d["count"]]["score"] for d in batch] == [0.0, 1.0, 2.0]


def test_two_open_experiments_from_next_are_both_recorded(store):
    opt = Optimizer(WIDE, verbose=0, store=store)
    a, b = opt.next(), opt.next()
    b.log_metric("loss", 2.0)
    a.log_metric("loss", 1.0)
    a.end()
    b.end()
    outcome = assert_journal_consistent(store, opt.id)
    assert (outcome[a.count]["score"], outcome[b.count]["score"]) == (1.0, 2.0)


def test_the_loop_ends_each_experiment_before_the_next_suggestion(store):
    opt = Optimizer({**WIDE, "spec": {"maxCombo": 3, "seed": 1}}, verbose=0, store=store)
    seen_running = []
    for experiment in opt.get_experiments():
        seen_running.append(opt.status()["running"])
        experiment.log_metric("loss", 1.0)
    assert seen_running == [1, 1, 1]
    assert opt.status()["completed"] == 3


def test_a_metric_logged_after_end_is_recorded_as_an_update(store, capfd):
    opt = Optimizer(WIDE, verbose=0, store=store)
    experiment = opt.next()
    experiment.log_metric("loss", 3.0)
    experiment.end()
    experiment.log_metric("loss", 1.0)
    assert "already ended" in capfd.readouterr().err
    fresh = Optimizer(opt.id, verbose=0, store=store)
    assert fresh.status()["best"]["score"] == 1.0
    assert fresh.experiments()[0]["metrics"]["loss"]["count"] == 2


def test_data_from_one_optimizer_records_into_the_search_with_two_on_the_same_id(store):
    first = Optimizer(WIDE, verbose=0, store=store)
    second = Optimizer(first.id, verbose=0, store=store)
    data = second.next_data()
    experiment = Experiment(optimizer_data=data)
    experiment.log_metric("loss", 0.5)
    experiment.end()
    for opt in (first, second, Optimizer(first.id, verbose=0, store=store)):
        status = opt.status()
        assert (status["completed"], status["running"]) == (1, 0)
    assert assert_journal_consistent(store, first.id)[data["count"]]["score"] == 0.5


def test_comet_shaped_data_and_a_clear_error_for_a_foreign_dict(store):
    opt = Optimizer(WIDE, verbose=0, store=store)
    data = opt.next_data()
    assert data["id"] == opt.id and {"parameters", "pid", "trial", "count"} <= set(data)
    with pytest.raises(OptimizerException, match="optimizer_data lacks 'id'"):
        Experiment(optimizer_data={"parameters": {}, "pid": "x", "trial": 1, "count": 1})



def test_what_the_api_hands_out_is_the_callers_to_change(store):
    """Editing a dict the API returned (parameters, metrics, tags, the config) changes
    nothing the search holds: before, ``status()["best"]`` and ``experiments()`` in
    that process showed the edited values from then on."""
    config = {"algorithm": "grid", "spec": {"maxCombo": 6, "metric": "loss"},
              "parameters": {"x": {"type": "discrete", "values": [1, 2, 3]},
                             "kind": {"type": "categorical", "values": ["a", "b"]}}}
    opt = Optimizer(config, verbose=0, store=store)
    config["parameters"]["x"]["values"].append(99)
    for experiment in opt.get_experiments():
        experiment.add_tag("mine")
        experiment.log_metric("loss", float(experiment.params["x"]))
        experiment.params["x"] = -1
        experiment.end()
        data = opt.next_data()
        if data is not None:
            data["parameters"]["x"] = -3
            handed = Experiment(optimizer_data=data)
            handed.log_metric("loss", float(opt.experiments()[-1]["parameters"]["x"]))
            handed.end()
        status = opt.status()
        status["parameters"]["x"]["values"].append(7)
        status["spec"]["metric"] = "other"
        if status["best"] is not None:
            status["best"]["parameters"]["x"] = -4
            status["best"]["metrics"].clear()
        for record in opt.experiments():
            record["parameters"]["x"] = -5
            record["metrics"].clear()
            record.get("tags", []).append("edited")
    fresh = Optimizer(opt.id, verbose=0, store=store)
    for view in (opt, fresh):
        records = view.experiments()
        assert sorted((r["parameters"]["x"], r["parameters"]["kind"]) for r in records) == [
            (x, kind) for x in (1, 2, 3) for kind in "ab"]
        assert all(r["metrics"] and "edited" not in r.get("tags", []) for r in records)
        status = view.status()
        assert status["parameters"]["x"]["values"] == [1, 2, 3]
        assert status["spec"]["metric"] == "loss"
        assert status["best"]["parameters"]["x"] == 1 and status["best"]["score"] == 1.0



GONE_STDERR = """
import os, signal, sys
from comet_optimize import Optimizer

opt = Optimizer(sys.argv[1], verbose=0, store=sys.argv[2])
how = sys.argv[3]
if how == "closed pipe":  # `2>&1 | head` after head exited
    reader, writer = os.pipe()
    os.close(reader)
    os.dup2(writer, 2)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
elif how == "None":  # pythonw, some daemons
    sys.stderr = None
elif how == "closed file":
    sys.stderr.close()
elif how == "a stream that raises":  # a logging redirect with a bug of its own
    class Refusing:
        def write(self, text):
            raise RuntimeError("this stream takes no writes")

        def flush(self):
            raise RuntimeError("nor flushes")

    sys.stderr = Refusing()
for experiment in opt.get_experiments():
    if experiment.count % 2:  # the others end without the metric: a warning each
        experiment.log_metric("loss", experiment.params["x"])
    experiment.log_metric("text", "not a number")  # another warning
os.write(1, b"loop ended")
if how == "a stream that raises":
    sys.stderr = sys.__stderr__  # else Python's own flush at exit fails (status 120)
"""


@pytest.mark.parametrize("how", ["closed pipe", "None", "closed file",
                                 "a stream that raises"])
def test_a_script_whose_stderr_is_gone_still_records_every_result(file_store, tmp_path, how):
    """Our warnings used to raise BrokenPipeError/ValueError in the middle of an end."""
    import subprocess
    import sys

    opt = Optimizer({**WIDE, "spec": {**WIDE["spec"], "maxCombo": 6, "metric": "loss"}},
                    verbose=0, store=file_store)
    script = tmp_path / "train.py"
    script.write_text(GONE_STDERR)
    run = subprocess.run([sys.executable, str(script), opt.id, file_store, how],
                         capture_output=True, timeout=120)
    assert run.returncode == 0 and run.stdout.endswith(b"loop ended"), run.stderr[-2000:]
    status = opt.status()
    assert (status["completed"], status["aborted"], status["running"]) == (3, 3, 0)


# -- 5 and 6. values

def test_numpy_and_other_types_are_recorded_as_plain_json(store):
    opt = Optimizer(WIDE, verbose=0, store=store)
    experiment = opt.next()
    experiment.log_metric("loss", np.float32(0.5), step=np.int64(3), epoch=np.int32(1))
    experiment.log_metric("acc", Decimal("0.25"))
    experiment.log_parameter("layers", np.array([1, 2, 3]))
    experiment.log_other("data", Path("/tmp/data.csv"))
    experiment.log_other("shape", (np.int64(2), np.float64(0.5)))
    experiment.end()
    assert opt.next() is not None  # the next decision is not poisoned
    end = assert_journal_consistent(store, opt.id)[experiment.count]
    assert end["score"] == 0.5 and end["metrics"]["loss"]["step"] == 3
    assert end["logged_parameters"]["layers"] == [1, 2, 3]
    assert end["others"] == {"data": "/tmp/data.csv", "shape": [2, 0.5]}


class GraphTensor:
    """Behaves like a PyTorch loss still attached to its graph: ``float()`` warns,
    ``detach()`` gives the plain value (torch itself is not a test dependency)."""

    shape = ()

    def __float__(self) -> float:
        import warnings

        warnings.warn("Converting a tensor with requires_grad=True to a scalar", UserWarning,
                      stacklevel=2)
        return 0.5

    def detach(self) -> np.ndarray:
        return np.array(0.5)


def test_a_loss_tensor_still_in_its_graph_is_recorded_without_a_warning(file_store):
    import warnings

    opt = Optimizer(WIDE, verbose=0, store=file_store)
    experiment = opt.next()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        experiment.log_metric("loss", GraphTensor())
    experiment.end()
    assert opt.experiments()[0]["score"] == 0.5


def test_odd_values_are_kept_as_comet_keeps_them_and_only_numbers_score(store, capfd,
                                                                        monkeypatch):
    """A value that is no number, string, list or dict is kept as its text, a bad step
    is left out (not the value), and neither can end the script (both raised)."""
    monkeypatch.setattr(encoding._text_warnings, "said", set())  # once per process: afresh
    opt = Optimizer(WIDE, verbose=0, store=store)
    experiment = opt.next()
    with pytest.raises(OptimizerException, match="metric name must be a string"):
        experiment.log_metric(("loss", 1), 1.0)  # a misuse of the call itself still raises
    experiment.log_other("thing", object())
    experiment.log_metric("loss", 1.0, step="three")
    experiment.log_metric("loss", [1.0, 2.0])
    experiment.log_metric("loss", 0.25)
    experiment.end()
    err = capfd.readouterr().err
    assert "other 'thing': a object is not a number" in err
    assert "step must be a whole number, not 'three'; the value was recorded without it" in err
    assert "value '[1.0, 2.0]' is not a number; it does not count towards the score" in err
    [record] = opt.experiments()
    assert (record["status"], record["score"]) == ("completed", 0.25)
    assert record["others"]["thing"].startswith("<object object at")


def test_a_huge_integer_metric_is_recorded_as_infinite(store, capfd):
    opt = Optimizer(WIDE, verbose=0, store=store)
    experiment = opt.next()
    experiment.log_metric("loss", 10 ** 400)
    experiment.end()
    assert "too large" in capfd.readouterr().err
    assert math.isinf(opt.experiments()[0]["score"])


def test_a_failed_append_leaves_the_state_as_the_journal_says(file_store):
    store = file_store
    opt = Optimizer(WIDE, verbose=0, store=store)
    done = opt.next()
    done.log_metric("loss", 1.0)
    done.end()
    experiment = opt.next()
    experiment.log_metric("loss", 2.0)

    def break_the_journal() -> None:
        journal = opt._journal
        readonly = os.open(journal.path, os.O_RDONLY)
        os.dup2(readonly, journal._fd)  # the real descriptor now refuses writes (EBADF)
        os.close(readonly)

    before = opt.status()
    break_the_journal()
    with pytest.raises(OptimizerException, match="cannot append"):
        experiment.end()
    assert not experiment.ended
    assert opt.status() == before
    break_the_journal()
    with pytest.raises(OptimizerException, match="cannot append"):
        opt.next()
    assert opt.status() == before
    experiment.end()  # the journal was reopened after the failure: it works again
    assert opt.status()["completed"] == 2


# -- 9. damage

def ended_search(store: str, count: int) -> tuple[Optimizer, str, list[bytes]]:
    """A search with ``count`` completed experiments; its journal's path and lines."""
    opt = Optimizer(WIDE, verbose=0, store=store)
    for experiment in opt.get_experiments():
        experiment.log_metric("loss", experiment.count)
        if experiment.count == count:
            break
    experiment.end()
    path = os.path.join(store, opt.id, "journal.jsonl")
    return opt, path, open(path, "rb").read().splitlines(keepends=True)


def test_a_journal_damaged_in_many_places_is_one_warning_not_one_per_place(file_store, capfd):
    opt, path, lines = ended_search(file_store, 6)
    open(path, "wb").write(lines[0] + b"".join(b"#" + line for line in lines[1:]))
    capfd.readouterr()

    Optimizer(opt.id, verbose=0, store=file_store)

    warnings = [line for line in capfd.readouterr().err.splitlines() if "damaged" in line]
    assert len(warnings) == 1, warnings
    assert f"and {len(lines) - 2} more place(s)" in warnings[0]


def test_gigabytes_of_garbage_at_the_end_are_never_held_in_memory(file_store):
    """A torn or hostile tail with no newline: read in bounded pieces, once, as damage."""
    import tracemalloc

    from comet_optimize.store.journal import MAX_LINE_BYTES, Journal

    opt = Optimizer(WIDE, verbose=0, store=file_store)
    experiment = opt.next()
    experiment.log_metric("loss", 1.0)
    experiment.end()
    path = os.path.join(file_store, opt.id, "journal.jsonl")
    garbage = 3 * MAX_LINE_BYTES
    with open(path, "ab") as handle:
        for _ in range(garbage >> 20):
            handle.write(b"x" * (1 << 20))

    tracemalloc.start()
    try:
        journal = Journal(path, readonly=True)
        events = journal.read_new()
        again = journal.read_new()  # the tail is not read a second time
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert [e["type"] for e in events] == ["created", "assign", "end"] and again == []
    assert peak < 1.5 * MAX_LINE_BYTES, f"held {peak >> 20} MiB for a {garbage >> 20} MiB tail"
    assert len(journal.damage) == 1 and "not an event" in journal.damage[0].reason

    resumed = Optimizer(opt.id, verbose=0, store=file_store)  # a writer ends the bad line
    resumed.next().end()
    assert [e["type"] for e in journal.read_new()] == ["assign", "end"]
    assert journal.damage[0].length == garbage  # measured whole once it ended


def test_an_experiment_that_logged_too_much_keeps_its_score_in_one_readable_line(
        file_store, capfd):
    from comet_optimize.store.base import MAX_EVENT_BYTES

    opt = Optimizer(WIDE, verbose=0, store=file_store)
    experiment = opt.next()
    text = "t" * 60_000
    for _ in range(MAX_EVENT_BYTES // len(text) + 10):
        experiment.log_text(text)
    experiment.log_metric("loss", 0.25)
    experiment.end()

    assert "texts were left out" in capfd.readouterr().err
    lines = Path(file_store, opt.id, "journal.jsonl").read_bytes().splitlines()
    assert max(map(len, lines)) <= MAX_EVENT_BYTES
    ended = Optimizer(opt.id, verbose=0, store=file_store).experiments()[0]
    assert (ended["status"], ended["score"]) == ("completed", 0.25)


def test_a_damaged_line_in_the_middle_never_reuses_a_number(file_store, capfd):
    store = file_store
    opt, path, lines = ended_search(store, 3)
    index = next(i for i, line in enumerate(lines)
                 if 3 in [count for count, _ in assigned_keys(json.loads(line))])
    lines[index] = b"\0" * (len(lines[index]) - 1) + b"\n"
    open(path, "wb").write(b"".join(lines))

    resumed = Optimizer(opt.id, verbose=0, store=store)
    assert "damaged at byte" in capfd.readouterr().err
    counts = [resumed.next().count for _ in range(3)]
    assert counts == [4, 5, 6]
    status = resumed.status()
    assert status["damage"] and status["damage"][0]["reason"] == "NUL bytes"
    assert status["assigned"] == 5  # 1, 2 and 4-6; #3's assignment is lost with the damage


def test_nul_bytes_before_an_event_do_not_take_the_event_with_them(file_store):
    store = file_store
    opt = Optimizer(WIDE, verbose=0, store=store)
    experiment = opt.next()
    path = os.path.join(store, opt.id, "journal.jsonl")
    with open(path, "ab") as handle:
        handle.write(b"\0" * 4096)
    experiment.log_metric("loss", 1.0)
    experiment.end()  # sealed after the NULs... or glued to them: either way it is read
    status = Optimizer(opt.id, verbose=0, store=store).status()
    assert status["completed"] == 1 and status["damage"]


def test_events_with_a_bad_shape_are_reported_not_fatal(file_store):
    store = file_store
    opt = Optimizer(WIDE, verbose=0, store=store)
    experiment = opt.next()
    path = os.path.join(store, opt.id, "journal.jsonl")
    with open(path, "a") as handle:
        handle.write('{"v":1,"type":"end","count":1,"status":"exploded"}\n')
        handle.write('{"v":1,"type":"assign"}\n')
    experiment.log_metric("loss", 1.0)
    experiment.end()
    status = Optimizer(opt.id, verbose=0, store=store).status()
    assert status["completed"] == 1
    assert [d["reason"] for d in status["damage"]] == [
        "end #1 has an unknown status 'exploded'", "an assign event without a valid count"]


def test_metrics_logged_by_another_thread_while_the_end_is_written_are_kept(store):
    opt = Optimizer(WIDE, verbose=0, store=store)
    for _ in range(5):
        experiment = opt.next()
        stop = threading.Event()
        logged = [0]

        def log(experiment=experiment, logged=logged, stop=stop) -> None:
            while not stop.is_set():
                experiment.log_metric("acc", 1.0)
                logged[0] += 1

        thread = threading.Thread(target=log)
        thread.start()
        experiment.log_metric("loss", 2.0)
        experiment.end()
        stop.set()
        thread.join()
        record = {r["count"]: r for r in Optimizer(opt.id, verbose=0, store=store)
                  .experiments()}[experiment.count]
        assert record["metrics"]["acc"]["count"] == logged[0]
        assert record["status"] == "completed" and record["score"] == 2.0


CUT_SHORT_JOIN = """
import atexit, os, signal, sys, threading

finished = threading.Event()
worker = None


def after_ours():  # registered first, so it runs after comet_optimize's exit handler
    finished.set()
    worker.join()


atexit.register(after_ours)
from comet_optimize import Optimizer  # noqa: E402

opt = Optimizer(sys.argv[1], verbose=0, store=sys.argv[2])


def interrupt(signum, frame):
    raise RuntimeError("the script's handler")


signal.signal(signal.SIGUSR1, interrupt)


def work():
    experiment = opt.next()
    threading.main_thread().join()  # the main thread is done: the interpreter waits for us
    os.kill(os.getpid(), signal.SIGUSR1)  # ... and a handler that raises cuts that wait short
    finished.wait()  # the exit handlers have run
    experiment.log_metric("loss", 0.25)
    experiment.end()
    print("ended", experiment.count, flush=True)


worker = threading.Thread(target=work)
worker.start()
"""


def test_an_experiment_of_a_thread_still_running_at_exit_is_left_to_it(tmp_path, file_store):
    """The interpreter joins a script's threads before the exit handlers run, unless a
    signal handler raises during that wait (or in a multiprocessing child, whose
    finalizers run first): the exit handler then ended the running thread's experiment
    (aborted, or failed by the handler's exception) and the thread's own end(), with its
    score, found it already ended. The chaos test saw it: a result the worker reported as
    ended was recorded failed."""
    import subprocess
    import sys

    opt = Optimizer({"algorithm": "random", "parameters": {"x": [1, 2]},
                     "spec": {"metric": "loss", "maxCombo": 2}}, verbose=0, store=file_store)
    script = tmp_path / "cut_short.py"
    script.write_text(CUT_SHORT_JOIN)
    run = subprocess.run([sys.executable, str(script), opt.id, file_store],
                         capture_output=True, text=True, timeout=60)
    assert "ended 1" in run.stdout, run.stderr
    ends = [e for e in stored_events(file_store, opt.id) if e["type"] == "end"]
    assert [(e["count"], e["status"], e["score"]) for e in ends] == [(1, "completed", 0.25)]
