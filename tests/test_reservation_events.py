"""Reserved assignments, ``start`` and ``release`` events, folded from a real journal.

What every process must agree on: a reservation counts towards the budget and takes
its parameter set without running; a start or release names its reservation by
number and experiment key (anything else is ignored, or damage when malformed); a
release undoes the reservation's counts and queues it to be handed out again as it
was, before anything new.
"""

from __future__ import annotations

import os
import time

from comet_optimize import Optimizer
from comet_optimize.events import assigned_keys
from comet_optimize.store import open_store
from tests.conftest import asset_files, stored_events

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
    events = stored_events(store, opt.id)
    kinds = [event["type"] for event in events]
    assert sum(len(assigned_keys(event)) for event in events) == 40
    assert kinds.count("end") == 40 and "reserve" in kinds
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


# -- a decision's reservations as one ``reserve`` event (journal schema 4)

def _reserve(*counts: int, **more) -> dict:
    """One reserve event holding what ``_assign(count, reserved=True)`` holds, per count."""
    return {"type": "reserve", "host": "elsewhere", "process": 7, "process_start": 5,
            "boot": "b", "pidns": 1, "time": time.time(),
            "items": [[c, f"e{c:031x}", f"{c:032x}", 1, 0, {"x": c / 100}] for c in counts],
            **more}


def _view(opt: Optimizer) -> tuple:
    state = opt.state
    reserved = {count: (a.experiment_id, a.pid, a.trial, a.retry, a.parameters, a.extra,
                        a.worker.name, a.start_time) for count, a in state.reserved.items()}
    return (reserved, dict(state.combos), dict(state.attempts), state.max_count,
            state.next_count, opt.status()["reserved"], opt.status()["comboCount"])


def test_a_reserve_event_folds_as_its_reserved_assigns(store):
    extra = {"project_name": "p"}
    one = _folded(store, [_assign(1), _reserve(2, 3, 4, extra=extra)])
    moment = one.state.reserved[2].start_time
    each = _folded(store, [_assign(1), *[_assign(c, reserved=True, extra=dict(extra),
                                                 time=moment) for c in (2, 3, 4)]])
    assert _view(one) == _view(each) and one.damage == []
    assert one.state.reserved[2].worker is one.state.reserved[4].worker  # named once
    # each reservation owns its extra: an end that records a name changes only its own
    one.state.apply({**_end(2), "name": "mine"})
    assert one.state.reserved[3].extra == {"project_name": "p"}
    # started, ended and released as any reservation
    after = _folded(store, [_assign(1), _reserve(2, 3), {**_end(1), "next": {
        "count": 2, "experiment": f"e{2:031x}"}}, _release(3)])
    assert set(after.state.running) == {2} and after.state.next_released()[2] == 3


def test_a_decision_writes_its_reservations_as_one_event(store):
    opt = Optimizer({**CONFIG, "spec": {"maxCombo": 40}}, verbose=0, store=store)
    for experiment in opt.get_experiments(project_name="p"):
        experiment.log_metric("loss", experiment.params["x"])
    events = stored_events(store, opt.id)
    reserves = [e for e in events if e["type"] == "reserve"]
    assert reserves and not any(e.get("reserved") for e in events)
    assert all(e["v"] == 4 and e["extra"] == {"project_name": "p"} for e in reserves)
    counts = [count for e in events for count, _ in assigned_keys(e)]
    assert sorted(counts) == list(range(1, 41))
    again = Optimizer(opt.id, verbose=0, store=store)
    assert again.status()["completed"] == 40 and again.damage == []
    assert {row["project_name"] for row in again.experiments()} == {"p"}


def test_a_damaged_reserve_event_is_damage_and_a_bad_item_skips_only_itself(store):
    bad = [_reserve(), {**_reserve(5), "items": [[5, "e", "p"]]},
           {**_reserve(5), "items": [[0, "e", "p", 1, 0, {"x": 1}]]},
           {**_reserve(5), "items": [[5, 7, "p", 1, 0, {"x": 1}]]},
           {**_reserve(5), "items": [[5, "e", "p", 0, 0, {"x": 1}]]},
           {**_reserve(5), "items": [[5, "e", "p", 1, -1, {"x": 1}]]},
           {**_reserve(5), "items": [[5, "e", "p", 1, 0, "x"]]}, _reserve(5, pidns="one"),
           _reserve(5, time="noon"), _reserve(5, extra=[1]), {**_reserve(5), "items": {}}]
    opt = _folded(store, [_assign(1), *bad])
    assert len(opt.damage) == len(bad) and set(opt.state.reserved) == set()
    # an item that cannot be applied (its number taken) is skipped; the others are not
    mixed = _folded(store, [_assign(1), _reserve(2, 1, 3)])
    assert set(mixed.state.reserved) == {2, 3} and len(mixed.damage) == 1
    assert "assigned twice" in mixed.damage[0].reason


def test_a_copy_carries_the_files_of_reserved_experiments(file_store, tmp_path):
    from comet_optimize.cli.commands import copy_search

    opt = Optimizer({**CONFIG, "spec": {"maxCombo": 12}}, verbose=0, store=file_store)
    for experiment in opt.get_experiments():
        experiment.log_metric("loss", experiment.params["x"])
        experiment.log_asset_data("model " + experiment.id, name="model.txt")
    assert any(e["type"] == "reserve" for e in stored_events(file_store, opt.id))
    target = str(tmp_path / "copy")
    copy_search(opt.id, target, store=file_store)
    files = asset_files(os.path.join(target, opt.id, "assets"))
    assert files == asset_files(os.path.join(file_store, opt.id, "assets"))
    assert sorted(path.split(os.sep)[0] for path in files) == sorted(
        row["id"] for row in opt.experiments())


def test_each_assignment_of_a_decision_keeps_its_extra_its_own(store):
    """One decision's assignments share their experiment arguments; the outcome recorded
    on one of them (a name it set) is not the others' (in the deciding process, the one
    that shows them to the script, they shared one dict)."""
    opt = Optimizer({**CONFIG, "spec": {"maxCombo": 12}}, verbose=0, store=store)
    for experiment in opt.get_experiments(project_name="p"):
        if experiment.count == 2:
            experiment.set_name("second")
        experiment.log_metric("loss", experiment.params["x"])
    assert any(e["type"] == "reserve" for e in stored_events(store, opt.id))
    for view in (opt, Optimizer(opt.id, verbose=0, store=store)):
        names = {row["count"]: row.get("name") for row in view.experiments()}
        assert names == {count: "second" if count == 2 else None for count in range(1, 13)}
