"""The journal's schema: what each event must hold before anything folds it in.

Every store hands its events to `SearchState`, which trusts their shape; the
shape is checked here, field by field, so that a damaged or hand-edited journal
(a ``retry`` that is a string, a ``status`` that is a list, a ``time`` that is
an object) is one line of damage that the search skips, never a TypeError in
the middle of a decision, a status or a report. Fields that readers only show
(``name``, ``tags``...) are checked too, since `status`, `export` and the
report all assume their types.
"""

from __future__ import annotations

from typing import Any

from comet_optimize import jsontext

_scan = jsontext.scan_once  # the C scanner behind json.loads
_JSON_SPACE = " \t\n\r"


def parse_event(text: str) -> Any:
    """`jsontext.parse(text)`: the same value or the same ValueError, for a third less.

    Every worker parses every event of its search, and for a one-line event most
    of a parse is its wrapper (type checks, two regular-expression
    matches for the surrounding whitespace); the scanner underneath is called
    here directly, and anything that does not start a value at once (leading
    whitespace, garbage) goes to `jsontext.parse` for its exact answer.
    """
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        return parse_json(text)
    except RecursionError:
        raise _too_deep() from None
    if end != len(text) and text[end:].strip(_JSON_SPACE):
        return parse_json(text)  # raises its "Extra data" error
    return value


def parse_json(data: str | bytes) -> Any:
    """`jsontext.parse(data)`, whose answer to nesting deeper than the interpreter's
    recursion limit is a ValueError too: what a store holds may be damaged or
    planted, and readers treat a ValueError as damage, not as a crash."""
    try:
        return jsontext.parse(data)
    except RecursionError:
        raise _too_deep() from None


def _too_deep() -> ValueError:
    return ValueError("nested too deeply for JSON this program writes")


#: The journal's schema. Version 2 added the ``progress``, ``start`` and ``release``
#: events and an ``assign``'s ``reserved``; version 3 an ``end``'s ``next`` (the start of
#: the worker's next reservation, written with the end that precedes it); version 4 the
#: ``reserve`` event (a decision's reservations in one event that names their worker
#: once). Each event is written with the oldest version that has it (`schema_of`), so a
#: search that uses none of them stays readable by a comet_optimize that knows version 1,
#: and one that does is refused by an older one (a reader stops at an event newer than it
#: knows, rather than misread it: a version-2 reader would take the reservation for one
#: never started, a version-3 reader would not count a reserve event's assignments).
SCHEMA_VERSION = 4
_VERSION_2_TYPES = frozenset({"progress", "start", "release"})


def schema_of(event: dict[str, Any]) -> int:
    """The journal schema version ``event`` needs a reader to know."""
    kind = event.get("type")
    if kind == "reserve":
        return 4
    if "next" in event:
        return 3
    return 2 if kind in _VERSION_2_TYPES or event.get("reserved") else 1


def assigned_keys(event: dict[str, Any]) -> list[tuple[Any, Any]]:
    """(experiment number, experiment key) of each assignment ``event`` makes, as written
    (unchecked): an ``assign``'s one, or each of a ``reserve``'s items."""
    kind = event.get("type")
    if kind == "assign":
        return [(event.get("count"), event.get("experiment"))]
    items = event.get("items")
    if kind != "reserve" or type(items) is not list:
        return []
    return [(item[0], item[1]) for item in items
            if type(item) is list and len(item) >= 2 and type(item[0]) is int]


def newer_schema(version: Any) -> bool:
    """Whether an event's ``v`` says a newer comet_optimize wrote it."""
    return type(version) is int and version > SCHEMA_VERSION


STATUSES = frozenset({"completed", "aborted", "failed"})
NON_FINITE_SCORES = frozenset({"nan", "inf", "-inf"})  # what encode_score writes

# Every worker folds every event of its search, so the common fields are checked in
# straight-line code (type() is, not isinstance: a bool is not a count); the fields
# only a few events carry go through this table.
_RARE_RESULT_FIELDS = {
    "reason": lambda v: v is None or type(v) is str,
    "logged_parameters": lambda v: type(v) is dict,
    "others": lambda v: type(v) is dict,
    "name": lambda v: v is None or type(v) is str,
    "tags": lambda v: type(v) is list and all(type(t) is str for t in v),
    "assets": lambda v: type(v) is list and all(type(a) is dict for a in v),
    "texts": lambda v: type(v) is list and all(type(t) is dict for t in v),
    "dataset_hash": lambda v: v is None or type(v) is str,
    "dropped": lambda v: type(v) is list,
}
#: The keys of a plain result (an end or update that carries none of the rare fields, as
#: almost every end does): one subset test instead of a lookup per rare field, here and
#: where `SearchState` copies an outcome.
PLAIN_RESULT_KEYS = frozenset({"v", "type", "count", "status", "score", "time", "metrics",
                               "next", "_at"})
_NUMBERS = (int, float)
_BIG = 2 ** 1023  # an integer score beyond this has no float


def _time(value: Any) -> bool:
    """Seconds since 1970, within reach of every clock (so milliseconds stay finite);
    NaN and the infinities fail the comparison."""
    return type(value) in _NUMBERS and 0 <= value < 1e11


def _score(value: Any) -> bool:
    """A number (NaN and the infinities included: a lenient JSON reader makes floats of
    them), None, or the text encode_score writes for a non-finite one."""
    kind = type(value)
    return value is None or kind is float or (kind is int and -_BIG < value < _BIG) or (
        kind is str and value in NON_FINITE_SCORES)


def _assign_problem(event: dict[str, Any], count: int) -> str | None:
    get = event.get
    if type(get("params")) is not dict or type(get("pid")) is not str:
        return f"assign #{count} lacks its parameters"
    trial = get("trial")
    if type(trial) is not int or trial < 1:
        return f"assign #{count} has no valid trial"
    if type(get("experiment")) is not str:
        return f"assign #{count} has no experiment id"
    retry = get("retry", 0)
    if type(retry) is not int or retry < 0:
        return f"assign #{count} has an invalid 'retry'"
    problem = _handed_out_problem(event)
    if problem is not None:
        return f"assign #{count} {problem}"
    if "reserved" in event and type(event["reserved"]) is not bool:
        return f"assign #{count} has an invalid 'reserved'"
    return None


def _handed_out_problem(event: dict[str, Any]) -> str | None:
    """What is wrong with the worker, time and extra an assign or reserve event names."""
    get = event.get
    process, pidns = get("process", 0), get("pidns")
    # process_start may be anything: an odd one only makes the start unknown (see
    # liveness.Worker.from_event).
    if type(get("host", "")) is not str or type(get("boot", "")) is not str \
            or type(process) is not int or process < 0 \
            or (pidns is not None and (type(pidns) is not int or pidns < 0)):
        return "names its worker process wrongly"
    if "time" in event and not _time(event["time"]):
        return "has an invalid 'time'"
    if "extra" in event and type(event["extra"]) is not dict:
        return "has an invalid 'extra'"
    return None


def _reserve_problem(event: dict[str, Any]) -> str | None:
    """A ``reserve`` event: the worker, time and extra once, then one item per reserved
    assignment, ``[count, experiment, pid, trial, retry, params]``."""
    items = event.get("items")
    if type(items) is not list or not items:
        return "a reserve event without its items"
    first = items[0][0] if type(items[0]) is list and items[0] else "?"
    problem = _handed_out_problem(event)
    if problem is not None:
        return f"reserve #{str(first)[:20]} {problem}"
    for item in items:
        if type(item) is not list or len(item) != 6:
            return f"reserve #{str(first)[:20]} has an item that is not [count, experiment, " \
                   f"pid, trial, retry, params]"
        count, experiment, pid, trial, retry, params = item
        if type(count) is not int or count < 1:
            return f"reserve #{str(first)[:20]} has an item without a valid count"
        if type(experiment) is not str:
            return f"reserve #{count} has no experiment id"
        if type(params) is not dict or type(pid) is not str:
            return f"reserve #{count} lacks its parameters"
        if type(trial) is not int or trial < 1:
            return f"reserve #{count} has no valid trial"
        if type(retry) is not int or retry < 0:
            return f"reserve #{count} has an invalid 'retry'"
    return None


def _result_problem(event: dict[str, Any], kind: str, count: int) -> str | None:
    get = event.get
    status = get("status")
    if type(status) is not str or status not in STATUSES:
        return f"{kind} #{count} has an unknown status {str(status)[:20]!r}"
    if not _score(get("score")):
        return f"{kind} #{count} has an invalid score"
    if "time" in event and not _time(event["time"]):
        return f"{kind} #{count} has an invalid 'time'"
    if "metrics" in event:
        metrics = event["metrics"]
        if type(metrics) is not dict:
            return f"{kind} #{count} has an invalid 'metrics'"
        for summary in metrics.values():
            if type(summary) is not dict:
                return f"{kind} #{count} has an invalid 'metrics'"
    if "next" in event and (kind != "end" or not _next_start(event["next"])):
        return f"{kind} #{count} has an invalid 'next'"
    if event.keys() <= PLAIN_RESULT_KEYS:
        return None  # what almost every end holds: none of the rare fields to look up
    for key, check in _RARE_RESULT_FIELDS.items():
        if key in event and not check(event[key]):
            return f"{kind} #{count} has an invalid {key!r}"
    return None


def _next_start(value: Any) -> bool:
    """An end's ``next``: the reservation its worker started with it, by number and key."""
    if type(value) is not dict:
        return False
    count = value.get("count")
    return type(count) is int and count >= 1 and type(value.get("experiment")) is str


def _progress_problem(event: dict[str, Any]) -> str | None:
    count = event.get("count")
    if type(count) is not int or count < 1:
        return "a progress event without a valid count"
    if "time" in event and not _time(event["time"]):
        return f"progress #{count} has an invalid 'time'"
    metrics = event.get("metrics")
    if type(metrics) is not dict or any(type(s) is not dict for s in metrics.values()):
        return f"progress #{count} has an invalid 'metrics'"
    return None


def _reservation_problem(event: dict[str, Any], kind: str) -> str | None:
    count = event.get("count")
    if type(count) is not int or count < 1:
        return f"a {kind} event without a valid count"
    if "time" in event and not _time(event["time"]):
        return f"{kind} #{count} has an invalid 'time'"
    if type(event.get("experiment")) is not str:
        return f"{kind} #{count} has no experiment id"
    reason = event.get("reason")
    if reason is not None and type(reason) is not str:
        return f"{kind} #{count} has an invalid 'reason'"
    return None


def event_problem(event: dict[str, Any]) -> str | None:
    """Why ``event`` cannot be applied (None when it can)."""
    kind = event.get("type")
    if type(kind) is not str:
        return "an event without a type"
    if kind == "assign":
        count = event.get("count")
        if type(count) is not int or count < 1:
            return "an assign event without a valid count"
        return _assign_problem(event, count)
    if kind == "end" or kind == "update":
        count = event.get("count")
        if type(count) is not int or count < 1:
            return f"an {kind} event without a valid count"
        return _result_problem(event, kind, count)
    if kind == "progress":
        return _progress_problem(event)
    if kind == "reserve":
        return _reserve_problem(event)
    if kind == "start" or kind == "release":
        return _reservation_problem(event, kind)
    if kind == "created":
        return "a created event with an invalid 'time'" \
            if "time" in event and not _time(event["time"]) else None
    if kind == "exhausted":
        return None
    return f"an event of unknown type {kind[:20]!r}"
