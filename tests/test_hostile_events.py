"""A journal edited by hand, damaged, or written by something hostile: every field of
every event may hold anything JSON can. Whatever it holds, attaching, deciding,
`status`, `experiments` and the report never raise anything but the one-sentence
OptimizerException; a bad event is damage that is skipped.

Mutations are drawn from a seeded generator over a journal a real search wrote,
so a failure names its seed and is replayed exactly.
"""

from __future__ import annotations

import json
import os
import random

import pytest

from comet_optimize import Optimizer, OptimizerException
from comet_optimize.events import event_problem

CONFIG = {"algorithm": "bayes", "spec": {"maxCombo": 40, "retryAssignLimit": 1, "trials": 2,
                                         "seed": 5},
          "parameters": {"x": {"type": "double", "min": 0, "max": 1}, "c": ["a", "b", "c"],
                         "n": {"type": "integer", "min": 1, "max": 5}}}
HOSTILE = [None, -1, 0, 2 ** 70, 1e308, -1e308, "x", "", [], {}, [1, 2], {"a": 1}, True,
           "nan", 3.5, "running", "completed", "failed", "0" * 32]


def write_search(store: str, config: dict) -> tuple[str, list[str]]:
    """A search with completed, aborted (no metric) and NaN results, and the progress of
    each experiment that logged a metric; its journal lines."""
    os.environ["COMET_OPTIMIZE_PROGRESS_SECONDS"] = "1e-9"
    try:
        return _write_search(store, config)
    finally:
        del os.environ["COMET_OPTIMIZE_PROGRESS_SECONDS"]


def _write_search(store: str, config: dict) -> tuple[str, list[str]]:
    opt = Optimizer(config, verbose=0, store=store)
    for i, experiment in enumerate(opt.get_experiments()):
        if i % 5 == 0:
            experiment.log_metric("loss", float("nan"))
        elif i % 7:
            experiment.log_metric("loss", experiment.params["x"])
            experiment.log_other("o", i)
            experiment.add_tag("t")
        if i == 20:
            break
    experiment.end()
    with open(os.path.join(store, opt.id, "journal.jsonl")) as handle:
        return opt.id, handle.read().splitlines()


def use(store: str, optimizer_id: str, events: list[dict], render: bool = False) -> None:
    """Write ``events`` as the search's journal, then do what users do with a search."""
    with open(os.path.join(store, optimizer_id, "journal.jsonl"), "w") as handle:
        handle.write("".join(json.dumps(event) + "\n" for event in events))
    try:
        opt = Optimizer(optimizer_id, verbose=0, store=store)
        opt.status()
        opt.experiments()
        for index, experiment in enumerate(opt.get_experiments()):
            experiment.log_metric("loss", 0.5)
            if index == 2:
                experiment.end()  # not left for the exit of the test process to end
                break
        opt.status()
        if render:
            from comet_optimize.report import render

            render(opt)
    except OptimizerException:
        pass  # one sentence, as for any bad input


def test_every_field_of_every_event_may_hold_anything(tmp_path):
    """Each (event type, field, hostile value), set in every other event of that type."""
    store = str(tmp_path)
    optimizer_id, lines = write_search(store, {**CONFIG, "algorithm": "random"})
    original = [json.loads(line) for line in lines]
    fields = sorted({(e["type"], key) for e in original for key in e if key != "v"})
    failures = []
    for kind, key in fields:
        for value in HOSTILE:
            events = [dict(e) for e in original]
            chosen = [e for e in events if e["type"] == kind][::2]
            for event in chosen:
                event[key] = value
            try:
                use(store, optimizer_id, events)
            except Exception as error:  # noqa: BLE001 - collected, to list every culprit
                failures.append(f"{kind}.{key} = {value!r}: {type(error).__name__}: {error}")
    assert not failures, "\n".join(failures[:20])


@pytest.mark.parametrize("seed", range(6))
def test_random_damage_to_a_bayes_search_is_damage_at_worst(tmp_path, seed):
    store = str(tmp_path)
    optimizer_id, lines = write_search(store, CONFIG)
    rng = random.Random(seed)
    events = [json.loads(line) for line in lines]
    for _ in range(rng.randint(1, 3)):
        event = events[rng.randrange(len(events))]
        key = rng.choice([k for k in event if k != "v"])
        roll = rng.random()
        if roll < 0.75:
            event[key] = rng.choice(HOSTILE)
        elif roll < 0.9:
            del event[key]
        else:  # an event twice
            events.insert(rng.randrange(len(events)), dict(rng.choice(events)))
    use(store, optimizer_id, events, render=seed % 3 == 0)


def test_the_schema_refuses_each_field_of_the_wrong_type():
    assign = {"type": "assign", "count": 3, "experiment": "e" * 32, "pid": "p" * 32,
              "trial": 1, "retry": 0, "params": {"x": 0.5}, "host": "h", "process": 9,
              "process_start": 4, "boot": "b", "pidns": 1, "time": 1.7e9}
    end = {"type": "end", "count": 3, "status": "completed", "score": 0.5, "time": 1.7e9,
           "metrics": {"loss": {"last": 0.5}}, "tags": ["t"], "others": {}, "name": "n"}
    progress = {"type": "progress", "count": 3, "time": 1.7e9,
                "metrics": {"loss": {"count": 1, "last": 0.5}}}
    assert event_problem(assign) is None and event_problem(end) is None
    assert event_problem(progress) is None
    for event, key, value in [(assign, "count", True), (assign, "retry", "0"),
                              (assign, "time", 1e308), (assign, "process", -4),
                              (assign, "extra", []), (end, "status", ["completed"]),
                              (end, "score", "0.5"), (end, "score", True),
                              (end, "score", 10 ** 400),
                              (end, "time", {}), (end, "tags", "t"), (end, "metrics", []),
                              (progress, "count", 0), (progress, "time", -1),
                              (progress, "metrics", None), (progress, "metrics", {"a": 1})]:
        assert event_problem({**event, key: value}) is not None, (key, value)
    assert event_problem({**end, "score": "nan"}) is None  # how a NaN result is written


@pytest.mark.parametrize("loss", [1e308, -1e308, 1e300])
def test_a_finite_but_enormous_loss_does_not_break_bayes(file_store, loss):
    """A diverging run can log any finite float: the models must take it."""
    opt = Optimizer({**CONFIG, "spec": {"maxCombo": 30, "seed": 3}}, verbose=0,
                    store=file_store)
    for experiment in opt.get_experiments():
        x = experiment.params["x"]
        experiment.log_metric("loss", loss if x > 0.7 else (x - 0.3) ** 2)
    assert opt.status()["completed"] == 30


def test_an_extra_named_like_a_recorded_field_never_hides_it(file_store):
    opt = Optimizer({**CONFIG, "algorithm": "random"}, verbose=0, store=file_store)
    experiment = opt.next()
    experiment.end()  # aborted: no metric
    path = os.path.join(file_store, opt.id, "journal.jsonl")
    with open(path) as handle:
        events = [json.loads(line) for line in handle]
    for event in events:
        if event["type"] == "assign":
            event["extra"] = {"status": "completed", "score": -1e9, "project_name": "p"}
    with open(path, "w") as handle:
        handle.write("".join(json.dumps(event) + "\n" for event in events))

    shown = Optimizer(opt.id, verbose=0, store=file_store).experiments()[0]

    assert (shown["status"], shown["score"], shown["project_name"]) == ("aborted", None, "p")
