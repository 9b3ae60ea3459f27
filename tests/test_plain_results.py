"""An end that holds only the plain keys skips the per-field checks and copies (one subset
test, `events.PLAIN_RESULT_KEYS`); one that holds anything else still gets them all.

Every worker folds every other worker's ends, so the shortcut is on the path that sets
a busy search's pace; these pin that it changes nothing it decides: a rare field with a
wrong type is still damage, with a right one it is still recorded on the experiment, and
a bad ``next`` is refused whatever else the end holds.
"""

from __future__ import annotations

import pytest

from comet_optimize import config as config_module
from comet_optimize.events import PLAIN_RESULT_KEYS, event_problem
from comet_optimize.space import Space
from comet_optimize.state import SearchState, State

CONFIG = {"algorithm": "random", "parameters": {"x": {"type": "double", "min": 0, "max": 1}}}
# What each rare field may hold, and a value of the wrong type.
RARE = {
    "reason": ("it failed", 5),
    "logged_parameters": ({"lr": 0.1}, [1]),
    "others": ({"note": "n"}, "n"),
    "name": ("run", 3),
    "tags": (["a", "b"], ["a", 1]),
    "assets": ([{"file": "f"}], ["f"]),
    "texts": ([{"text": "t"}], "t"),
    "dataset_hash": ("abc", 1.5),
}


def _state() -> SearchState:
    parsed = config_module.validate(CONFIG)
    state = SearchState(Space.from_config(parsed), False, 1)
    assert state.apply({"type": "assign", "count": 1, "experiment": "e1", "pid": "p1",
                        "trial": 1, "params": {"x": 0.5}, "host": "h", "process": 1,
                        "time": 1.0}) is None
    return state


def _end(**extra) -> dict:
    return {"v": 3, "type": "end", "count": 1, "status": "completed", "score": 0.25,
            "time": 2.0, "metrics": {"loss": {"count": 1, "last": 0.25}}, "_at": 7, **extra}


def test_a_plain_end_is_applied_with_nothing_extra():
    state = _state()
    event = _end()
    assert event.keys() <= PLAIN_RESULT_KEYS
    assert state.apply(event) is None
    done = state.assignments[1]
    assert done.state is State.COMPLETED and done.score == 0.25 and done.extra == {}
    assert state.best is done and state.counts[State.COMPLETED] == 1


@pytest.mark.parametrize("field", sorted(RARE))
def test_a_rare_field_of_the_right_type_is_recorded(field):
    state = _state()
    good, _ = RARE[field]
    assert state.apply(_end(**{field: good})) is None
    shown = state.assignments[1].to_dict()
    assert shown[field] == good


@pytest.mark.parametrize("field", sorted(RARE))
def test_a_rare_field_of_the_wrong_type_is_damage(field):
    state = _state()
    _, bad = RARE[field]
    problem = state.apply(_end(**{field: bad}))
    assert problem == f"end #1 has an invalid {field!r}"
    assert state.running and state.counts[State.COMPLETED] == 0  # not applied


@pytest.mark.parametrize("following", [5, {"count": 0, "experiment": "e2"},
                                       {"count": 2}, {"count": 2, "experiment": 7}])
def test_a_bad_next_is_refused_with_or_without_rare_fields(following):
    for extra in ({}, {"name": "run"}):
        assert event_problem(_end(next=following, **extra)) == "end #1 has an invalid 'next'"
    update = {**_end(next={"count": 2, "experiment": "e2"}), "type": "update"}
    assert event_problem(update) == "update #1 has an invalid 'next'"


def test_an_unknown_key_takes_the_full_path_and_is_kept_out_of_the_record():
    state = _state()
    assert state.apply(_end(surprise=1)) is None
    assert "surprise" not in state.assignments[1].to_dict()
