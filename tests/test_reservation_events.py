"""Reserved assignments, ``start`` and ``release`` events, folded from a real journal.

What every process must agree on: a reservation counts towards the budget and takes
its parameter set without running; a start or release names its reservation by
number and experiment key (anything else is ignored, or damage when malformed); a
release undoes the reservation's counts and queues it to be handed out again as it
was, before anything new.
"""

from __future__ import annotations

import time

from comet_optimize import Optimizer
from comet_optimize.store import open_store
from tests.conftest import stored_events

CONFIG = {"algorithm": "random", "spec": {"maxCombo": 5, "retryAssignLimit": 1},
          "parameters": {"x": {"type": "double", "min": 0, "max": 1}}}


def _assign(count: int, pid: int | None = None, retry: int = 0, **more) -> dict:
    pid = count if pid is None else pid
    return {"type": "assign", "count": count, "experiment": f"e{count:031x}",
            "pid": f"{pid:032x}", "trial": 1, "retry": retry, "params": {"x": pid / 100},
            "host": "elsewhere", "process": 7, "process_start": 5, "boot": "b", "pidns": 1,
            "time": time.time(), **more}  # now: another host's lease has not lapsed


def _start(count: int, key: int | None = None) -> dict:
    return {"type": "start", "count": count,
            "experiment": f"e{(count if key is None else key):031x}", "time": 2.0}


def _release(count: int, key: int | None = None) -> dict:
    return {"type": "release", "count": count, "reason": "its worker exited",
            "experiment": f"e{(count if key is None else key):031x}", "time": 2.0}


def _end(count: int, status: str = "completed") -> dict:
    return {"type": "end", "count": count, "status": status,
            "score": 0.5 if status == "completed" else None, "time": 3.0}


def _folded(store: str, events: list[dict]) -> Optimizer:
    opt = Optimizer(CONFIG, verbose=0, store=store)
    journal = open_store(store).journal(opt.id)
    with journal.locked():
        journal.append(events)
    journal.close()
    return Optimizer(opt.id, verbose=0, store=store)


def test_a_reservation_is_taken_but_not_running(store):
    opt = _folded(store, [_assign(1), _assign(2, reserved=True)])
    status = opt.status()
    assert (status["running"], status["reserved"], status["assigned"]) == (1, 1, 1)
    assert status["comboCount"] == 2 and status["status"] == "running"
    assert [row["count"] for row in opt.experiments()] == [1]


def test_a_start_runs_only_the_reservation_it_names(store):
    opt = _folded(store, [_assign(1, reserved=True), _assign(2, reserved=True),
                          _start(1), _start(2, key=9), _start(7)])
    assert set(opt.state.running) == {1} and set(opt.state.reserved) == {2}
    assert opt.damage == []  # a stale start is no damage: its reservation went back


def test_an_end_may_carry_the_start_of_its_workers_next_reservation(store):
    """A loop's step writes the previous end and the next start as one event (every worker
    reads every event): the start is applied as a start event's would be, also when the
    end itself is ignored (the experiment had ended already)."""
    def ending(count: int, following: int, key: int | None = None) -> dict:
        named = following if key is None else key
        return {**_end(count), "next": {"count": following, "experiment": f"e{named:031x}"}}

    opt = _folded(store, [_assign(1), _assign(2, reserved=True), _assign(3, reserved=True),
                          _assign(4, reserved=True), ending(1, 2), ending(2, 3, key=9),
                          _end(2, "failed"), ending(2, 4)])
    state = opt.state
    assert set(state.running) == {4} and set(state.reserved) == {3}
    assert state.assignments[1].state.value == "completed"
    assert state.assignments[2].state.value == "completed"  # its first end is kept
    assert state.assignments[4].start_time == 3.0  # started when its predecessor ended
    assert opt.damage == []


def test_a_loop_writes_no_start_event_of_its_own_after_an_end(store):
    opt = Optimizer({**CONFIG, "spec": {"maxCombo": 40}}, verbose=0, store=store)
    for experiment in opt.get_experiments():
        experiment.log_metric("loss", experiment.params["x"])
    kinds = [event["type"] for event in stored_events(store, opt.id)]
    assert kinds.count("assign") == 40 and kinds.count("end") == 40
    assert "start" not in kinds
    assert Optimizer(opt.id, verbose=0, store=store).status()["completed"] == 40


def test_a_release_undoes_the_reservation_and_queues_it_first(store):
    opt = _folded(store, [_assign(1), _assign(2, reserved=True), _assign(3, reserved=True),
                          _release(3), _release(2, key=8), _end(1)])
    state = opt.state
    assert set(state.reserved) == {2} and state.combos[f"{3:032x}"] == 0
    assert (f"{3:032x}", 1) not in state.attempts
    status = opt.status()
    assert (status["failed"], status["retryCount"], status["reserved"]) == (0, 0, 1)
    # handed out again, under its number, as a first attempt, before anything new
    assert opt._choose(4.0) == (f"{3:032x}", 1, 0, {"x": 0.03}, 3)


def test_a_released_retry_keeps_its_retry_number_and_is_dropped_once_completed(store):
    opt = _folded(store, [_assign(1), _end(1, "failed"),
                          _assign(2, pid=1, retry=1, reserved=True), _release(2)])
    state = opt.state
    assert state.retries == 0 and state.next_released() == ((f"{1:032x}", 1), 1, 2)
    assert opt._choose(4.0)[:3] == (f"{1:032x}", 1, 1)
    late = {"type": "update", "count": 1, "status": "completed", "score": 0.1, "time": 5.0}
    after = _folded(store, [_assign(1), _end(1, "failed"),
                            _assign(2, pid=1, retry=1, reserved=True), _release(2), late])
    assert after.state.released == {}  # its first attempt completed after all


def test_malformed_reservation_events_are_damage(store):
    bad = [{"type": "start", "count": 0, "experiment": "e"},
           {"type": "release", "count": 1},
           {"type": "start", "count": 1, "experiment": "e", "time": "noon"},
           {"type": "release", "count": 1, "experiment": "e", "reason": 3},
           _assign(2, reserved="yes"),
           {**_end(1), "next": {"count": 1}}, {**_end(1), "next": [1, "e"]},
           {**_end(1), "next": {"count": 0, "experiment": f"e{1:031x}"}},
           {"type": "update", "count": 1, "status": "completed", "score": 0.5,
            "next": {"count": 1, "experiment": f"e{1:031x}"}}]
    opt = _folded(store, [_assign(1, reserved=True), *bad])
    assert len(opt.damage) == len(bad)
    assert set(opt.state.reserved) == {1} and 2 not in opt.state.assignments
