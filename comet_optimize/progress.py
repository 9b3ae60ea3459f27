"""Metrics made durable while an experiment runs, so a hard death keeps them.

A script killed by the kernel (the OOM killer, ``kill -9``, a node lost) runs
no exit handler: whatever it logged lived only in its memory, and its
experiment was recorded ``failed`` with nothing. So while an experiment runs,
its metrics are written to the journal as a ``progress`` event: first once
the experiment has run for a second, then at most once every
`progress_seconds` (``COMET_OPTIMIZE_PROGRESS_SECONDS``, default 10 s; 0 turns
it off), and only when something changed. An experiment that ends within its
first second writes none (its end carries everything): short experiments pay
nothing, long ones one small write per interval. What a hard death loses is
at most the last interval of metrics; the experiment's status and score are
decided by its end or its failure alone, never by a progress event.
"""

from __future__ import annotations

import math
from typing import Any

from comet_optimize import jsontext
from comet_optimize.settings import seconds_from_env

PROGRESS_SECONDS = 10.0
FIRST_PROGRESS_SECONDS = 1.0  # a crash in an experiment's first seconds keeps its metrics too
#: A progress event above this size carries only the objective's metric: it is
#: written again every interval, and every reader folds it.
MAX_PROGRESS_BYTES = 256 << 10


def progress_seconds() -> float:
    """The interval from ``COMET_OPTIMIZE_PROGRESS_SECONDS`` (0: never), else the default."""
    value = seconds_from_env("COMET_OPTIMIZE_PROGRESS_SECONDS", PROGRESS_SECONDS,
                             zero_allowed=True)
    return math.inf if value == 0 else value


def progress_event(count: int, metrics: dict[str, dict[str, Any]], objective: str | None,
                   now: float) -> dict[str, Any]:
    """The journal event for ``metrics`` so far (summaries copied, size bounded)."""
    kept = {name: dict(summary) for name, summary in metrics.items()}
    event = {"type": "progress", "count": count, "time": now, "metrics": kept}
    if len(kept) > 1 and jsontext.size(event) > MAX_PROGRESS_BYTES:
        event["metrics"] = {name: kept[name] for name in kept if name == objective}
    return event
