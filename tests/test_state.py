"""The state folded from a journal's events."""

from __future__ import annotations

from comet_optimize import Optimizer
from comet_optimize.store import open_store

CONFIG = {"algorithm": "random", "spec": {"maxCombo": 10},
          "parameters": {"x": {"type": "double", "min": 0, "max": 1}}}


def _assign(count: int, **worker) -> dict:
    return {"type": "assign", "count": count, "experiment": f"{count:032x}",
            "pid": f"{count:032x}", "trial": 1, "retry": 0, "params": {"x": 0.5},
            "host": "h", "process": 7, "process_start": 5, "boot": "b", "pidns": 1,
            "time": 1.0, **worker}


def _append(store: str, optimizer_id: str, events: list[dict]) -> None:
    journal = open_store(store).journal(optimizer_id)
    with journal.locked():
        journal.append(events)
    journal.close()


def test_workers_that_differ_only_in_a_number_s_type_stay_apart(store):
    opt = Optimizer(CONFIG, verbose=0, store=store)
    _append(store, opt.id, [_assign(1), _assign(2, process_start=5.0), _assign(3)])

    attached = Optimizer(opt.id, verbose=0, store=store)

    workers = {count: a.worker for count, a in attached.state.assignments.items()}
    assert workers[1].start == 5 and workers[2].start == -1
    assert workers[1] is workers[3]  # the same process: one object
