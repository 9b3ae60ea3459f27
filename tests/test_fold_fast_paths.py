"""The fast paths every worker takes when it folds the events others wrote give the same
results as the plain ones: the same values, the same damage at the same places.

`events.parse_event` calls json's scanner directly and the file store decodes a read
once, parsing its ASCII lines with it; each is checked here against ``json.loads`` and
against the same journal with a non-ASCII line in it (parsed from its bytes).
"""

from __future__ import annotations

import json
import math

import pytest

from comet_optimize import Optimizer
from comet_optimize.events import parse_event
from comet_optimize.store.journal import Journal

TEXTS = ['{"a":1}', ' {"a":1}', '{"a":1} ', '{"a":1}\t\r', '{"a":1}x', '{"a":1}\x0b',
         '{"a":1}\x1c', '', ' ', 'x', '{"a":', '[1,2]', '1', 'NaN', '{"a":NaN}', '"s"',
         '{"a":"\x01"}', '{"a":1}{"b":2}', '\ufeff{"a":1}', '{"a":1e999}', '{"a":-0.0}',
         '{"a":{"b":[1,{"c":null}]}}', '{"a":1,}', "{'a':1}", '{"a":"\\ud800"}', '}']


def _outcome(function, text):
    try:
        value = function(text)
    except ValueError as error:
        return "error", type(error).__name__, str(error)
    return "value", json.dumps(value, allow_nan=True)


@pytest.mark.parametrize("text", TEXTS)
def test_parse_event_answers_as_json_loads(text):
    assert _outcome(parse_event, text) == _outcome(json.loads, text)


def test_parse_event_keeps_nan_and_infinities():
    event = parse_event('{"s":NaN,"t":Infinity,"u":-Infinity}')
    assert math.isnan(event["s"]) and event["t"] == math.inf and event["u"] == -math.inf


LINES = [b'{"type":"a","n":1}', b'', b'   ', b'\x0b\x0c', b'not json', b'[1,2]',
         b'{"type":"b"} trailing', b'{"type":"c","v":1}', b' {"type":"d"} ', b'\x1c',
         b'{"type":"e","t":"\\u00e9"}', b'{"broken":', b'{"type":"f"}']


def _read(path, lines):
    path.write_bytes(b"\n".join(lines) + b"\n")
    journal = Journal(str(path), readonly=True)
    events = journal.read_new()
    return [({k: v for k, v in e.items()}) for e in events], journal.damage


def test_an_ascii_read_gives_the_events_and_damage_of_the_byte_path(tmp_path):
    ascii_events, ascii_damage = _read(tmp_path / "a.jsonl", LINES)
    # The same lines plus one non-ASCII line at the end: that read takes the byte path;
    # everything before it must come out the same, at the same offsets.
    mixed_events, mixed_damage = _read(tmp_path / "b.jsonl", LINES + ['{"type":"é"}'.encode()])
    assert mixed_events[:-1] == ascii_events and mixed_events[-1]["type"] == "é"
    assert mixed_damage == ascii_damage
    assert [e["type"] for e in ascii_events] == ["a", "c", "d", "e", "f"]
    assert [d.reason for d in ascii_damage] == ["not a JSON event"] * 5


def test_a_search_folds_the_same_from_either_path(file_store):
    """A journal whose lines are all ASCII, and the same journal with one non-ASCII name:
    the states folded from them agree on everything the algorithms and status use."""
    opt = Optimizer({"algorithm": "random", "spec": {"maxCombo": 30, "retryAssignLimit": 1},
                     "parameters": {"x": {"type": "double", "min": 0, "max": 1},
                                    "c": ["p", "q"]}}, verbose=0, store=file_store)
    for i, experiment in enumerate(opt.get_experiments()):
        if i % 3:
            experiment.log_metric("loss", experiment.params["x"])
    first = Optimizer(opt.id, verbose=0, store=file_store, readonly=True)
    path = f"{file_store}/{opt.id}/journal.jsonl"
    with open(path, "ab") as handle:
        handle.write('{"v":1,"type":"exhausted","note":"é"}\n'.encode())
    second = Optimizer(opt.id, verbose=0, store=file_store, readonly=True)
    assert second.experiments() == first.experiments()
    one, two = first.state.history(), second.state.history()
    assert (one.completed == two.completed).all() and (one.scores == two.scores).all()
    assert second.state.combos == first.state.combos
    assert second.state.exhausted and second.damage == first.damage == []
