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

import math
from typing import Any

STATUSES = frozenset({"completed", "aborted", "failed"})
NON_FINITE_SCORES = frozenset({"nan", "inf", "-inf"})  # what encode_score writes


def _whole(value: Any, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value)


def _time(value: Any) -> bool:
    """Seconds since 1970, within reach of every clock (so milliseconds stay finite)."""
    return _number(value) and 0 <= value < 1e11


def _score(value: Any) -> bool:
    if value is None or _number(value):
        return True
    if isinstance(value, float):
        return True  # NaN or an infinity decoded by a lenient JSON reader
    return isinstance(value, str) and value in NON_FINITE_SCORES


# Optional fields: the check each must pass when present (None is "absent" only
# where the writer itself writes None). A worker's process_start may be anything:
# an odd one only makes the start unknown (see liveness.Worker.from_event).
_WORKER_FIELDS = {
    "retry": lambda v: _whole(v, 0),
    "host": lambda v: isinstance(v, str),
    "process": lambda v: _whole(v, 0),
    "boot": lambda v: isinstance(v, str),
    "pidns": lambda v: v is None or _whole(v, 0),
    "time": _time,
    "extra": lambda v: isinstance(v, dict),
}
_RESULT_FIELDS = {
    "time": _time,
    "reason": lambda v: v is None or isinstance(v, str),
    "metrics": lambda v: isinstance(v, dict) and all(isinstance(m, dict) for m in v.values()),
    "logged_parameters": lambda v: isinstance(v, dict),
    "others": lambda v: isinstance(v, dict),
    "name": lambda v: v is None or isinstance(v, str),
    "tags": lambda v: isinstance(v, list) and all(isinstance(t, str) for t in v),
    "assets": lambda v: isinstance(v, list) and all(isinstance(a, dict) for a in v),
    "texts": lambda v: isinstance(v, list) and all(isinstance(t, dict) for t in v),
    "dataset_hash": lambda v: v is None or isinstance(v, str),
    "dropped": lambda v: isinstance(v, list),
}


def _bad_field(event: dict[str, Any], checks: dict[str, Any]) -> str | None:
    for key, check in checks.items():
        if key in event and not check(event[key]):
            return key
    return None


def event_problem(event: dict[str, Any]) -> str | None:
    """Why ``event`` cannot be applied (None when it can)."""
    kind = event.get("type")
    if not isinstance(kind, str):
        return "an event without a type"
    if kind == "assign":
        count = event.get("count")
        if not _whole(count, 1):
            return "an assign event without a valid count"
        if not isinstance(event.get("params"), dict) or not isinstance(event.get("pid"), str):
            return f"assign #{count} lacks its parameters"
        if not _whole(event.get("trial"), 1):
            return f"assign #{count} has no valid trial"
        if not isinstance(event.get("experiment"), str):
            return f"assign #{count} has no experiment id"
        bad = _bad_field(event, _WORKER_FIELDS)
        if bad in ("host", "process", "boot", "pidns"):
            return f"assign #{count} names its worker process wrongly"
        return f"assign #{count} has an invalid {bad!r}" if bad else None
    if kind in ("end", "update"):
        count = event.get("count")
        if not _whole(count, 1):
            return f"an {kind} event without a valid count"
        status = event.get("status")
        if not (isinstance(status, str) and status in STATUSES):
            return f"{kind} #{count} has an unknown status {str(status)[:20]!r}"
        if not _score(event.get("score")):
            return f"{kind} #{count} has an invalid score"
        bad = _bad_field(event, _RESULT_FIELDS)
        return f"{kind} #{count} has an invalid {bad!r}" if bad else None
    if kind == "created":
        return "a created event with an invalid 'time'" \
            if "time" in event and not _time(event["time"]) else None
    if kind == "exhausted":
        return None
    return f"an event of unknown type {kind[:20]!r}"
