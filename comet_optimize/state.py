"""The state of a search, derived from its journal's events and nothing else.

Every process replays the same events into a `SearchState`, then applies
new ones as they appear, so counts, the best result, what is running and
what may be re-assigned are never stored twice and never disagree.

Events (JSON objects, ``v`` = schema version):

* ``created``: the search began (``time``, ``version``).
* ``assign``: an experiment handed out: ``count`` (1-based order),
  ``experiment``, ``pid``, ``trial``, ``retry``, ``params``, the worker's
  ``host``, ``process`` and ``process_start``, ``time``.
* ``end``: ``count``, ``status`` (completed | aborted | failed), ``score``
  (a number, or "nan"/"inf"/"-inf", or null), ``reason``, ``metrics``, ``time``;
  and what the script logged besides metrics (`RESULT_FIELDS`): its
  ``logged_parameters``, ``others``, ``name``, ``tags``, ``texts``,
  ``dataset_hash`` and ``assets`` (metadata of the files under its folder).
* ``update``: a result that arrived after its experiment had ended: a metric
  logged after ``end()``, or the late end of a worker that was presumed dead
  (its lease lapsed while it was stopped). Same fields as ``end``; it replaces
  the recorded outcome, so a real result is never thrown away.
* ``progress``: ``count``, ``metrics``, ``time``: what a running experiment has
  logged so far (see `comet_optimize.progress`). It only shows a running
  experiment's metrics, and keeps them if it then dies without an end of its
  own; it never changes a status or a score, and is ignored once the
  experiment has ended.
* ``exhausted``: the algorithm found no unseen parameter set.

Reservations (see `Optimizer.get_experiments`): an ``assign`` with
``reserved: true`` hands a parameter set to a worker without starting it. It
counts towards the budget and takes its parameter set, but is not running
(`SearchState.reserved`).

* ``start``: ``count``, ``experiment``, ``time``: the worker that reserved it
  started it (it is running from then on). Ignored unless that reservation is
  still reserved.
* an ``end``'s ``next`` (``{"count", "experiment"}``): the same, written with the end
  of the experiment its worker ran before (one event instead of two, read by every
  worker); the start is applied whether or not the end was (an experiment ended
  twice keeps its first end).
* ``reserve``: a decision's reservations in one event (every worker parses it, and
  a decision takes up to 32): the worker's ``host``, ``process``, ``process_start``,
  ``boot`` and ``pidns``, ``time`` and ``extra`` once, then ``items``, each
  ``[count, experiment, pid, trial, retry, params]``: the same as that many
  ``assign`` events with ``reserved: true``.
* ``release``: ``count``, ``experiment``, ``time``, ``reason``: a reservation goes
  back to the pool (its worker left the loop, exited or died). Neither a
  failure nor a retry: the same parameter set, trial, retry number and
  experiment number are handed out again, before anything new
  (`SearchState.next_released`).

An event that does not have the shape above (a hand-edited or damaged
journal) is not applied: `SearchState.apply` returns why, and the reader
reports it with the journal's damage.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from comet_optimize.algorithms.base import History
from comet_optimize.events import PLAIN_RESULT_KEYS, event_problem
from comet_optimize.liveness import Worker
from comet_optimize.space import Space

#: What an ``end``/``update`` event may carry besides its outcome: kept on the
#: assignment (``experiments()`` and ``export`` show them).
RESULT_FIELDS = ("logged_parameters", "others", "name", "tags", "assets", "texts",
                 "dataset_hash")


class State(str, Enum):
    RUNNING = "running"
    COMPLETED = "completed"
    ABORTED = "aborted"
    FAILED = "failed"


@dataclass(slots=True)  # every worker makes one per experiment: no __dict__ each
class Assignment:
    count: int
    experiment_id: str
    pid: str
    trial: int
    retry: int
    parameters: dict[str, Any]
    worker: Worker
    start_time: float
    state: State = State.RUNNING
    end_time: float | None = None
    score: float | None = None
    reason: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """What was recorded, then the extras (the script's name, tags...); an extra named
        "status" or "score" in a hand-edited journal never hides the recorded one."""
        recorded = {
            "count": self.count, "id": self.experiment_id, "pid": self.pid,
            "trial": self.trial, "retry": self.retry, "parameters": dict(self.parameters),
            "status": self.state.value, "score": self.score, "host": self.worker.host,
            "process": self.worker.pid, "startTime": self.start_time, "endTime": self.end_time,
            "reason": self.reason, "metrics": _detached(self.metrics),
        }
        return {**recorded, **{k: _detached(v) for k, v in self.extra.items()
                               if k not in recorded}}


def _detached(value: Any) -> Any:
    """A copy of the lists and dicts in ``value``: what callers get is theirs to change.

    A script that edited a dict from ``experiments()`` or ``status()["best"]``
    changed the search's own record, and every later view in that process.
    """
    if isinstance(value, dict):
        return {key: _detached(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_detached(item) for item in value]
    return value


def encode_score(score: float | None) -> float | str | None:
    if score is None or math.isfinite(score):
        return score
    return repr(score)


def decode_score(value: Any) -> float | None:
    if value is None:
        return None
    return float(value)


_STATE_OF = {state.value: state for state in State}  # State(value), without the Enum call
_GENERATIONS = itertools.count(1)  # tells apart two states of one search (see `generation`)


class _Rows:
    """A growing float array (of rows, or of numbers when width is None).

    Appends wait in a list until the array is read: every worker observes every
    result, but only an algorithm that learns from them (bayes) reads the array,
    once per decision, so the others never pay numpy's per-item cost.
    """

    def __init__(self, width: int | None):
        self._data = np.empty(16 if width is None else (16, width))
        self._n = 0
        self._waiting: list[Any] = []

    def append(self, row: np.ndarray | float) -> None:
        self._waiting.append(row)

    def __len__(self) -> int:
        return self._n + len(self._waiting)

    @property
    def array(self) -> np.ndarray:
        if self._waiting:
            self._settle()
        return self._data[: self._n]

    def _settle(self) -> None:
        waiting, self._waiting = self._waiting, []
        end = self._n + len(waiting)
        if end > len(self._data):  # amortised: at least doubled
            grown = np.empty((max(end, 2 * len(self._data)), *self._data.shape[1:]))
            grown[: self._n] = self._data[: self._n]
            self._data = grown
        self._data[self._n:end] = waiting
        self._n = end


class SearchState:
    """Everything known about one search, folded from its events."""

    def __init__(self, space: Space, maximize: bool, trials: int):
        self.space = space
        self.maximize = maximize
        self.trials = trials
        self.assignments: dict[int, Assignment] = {}
        self.running: dict[int, Assignment] = {}
        self.combos: dict[str, int] = {}  # pid -> trials handed out (insertion = order)
        self.partial: dict[str, None] = {}  # pids with trials still to hand out
        self.attempts: dict[tuple[str, int], list[int]] = {}
        self.reserved: dict[int, Assignment] = {}  # reserved, not started (see above)
        # Released reservations, oldest first: (pid, trial) -> (retry number, count).
        self.released: dict[tuple[str, int], tuple[int, int]] = {}
        self._params: dict[str, dict[str, Any]] = {}  # pid -> its parameters
        self.retryable: dict[tuple[str, int], None] = {}  # failed/aborted, not yet completed
        self.done_keys: set[tuple[str, int]] = set()
        self.exhausted = False
        self.created: float | None = None
        self.last_update: float | None = None
        self.best: Assignment | None = None
        self.counts = {state: 0 for state in State}
        self.max_count = 0  # the highest experiment number seen: new ones go above it
        self._rows = _Rows(len(space.dimensions))
        self._scores = _Rows(None)
        self._observed_at: dict[int, int] = {}  # count -> its row in _rows/_scores
        self._row_cache: dict[str, np.ndarray] = {}
        self._workers: dict[tuple[Any, ...], Worker] = {}  # one object per worker process
        self.retries = 0  # assignments that were re-assignments (retry > 0)
        # A change log, so that a reader can ask what changed since it last looked and do
        # work in proportion to that (the dashboard): `changes` numbers every change to an
        # experiment; `_changed` maps each experiment to the number of its latest change,
        # oldest first. A state rebuilt from the journal gets a new `generation`, and a
        # position taken in another generation means nothing here.
        self.generation = next(_GENERATIONS)
        self.changes = 0
        self._changed: dict[int, int] = {}
        self._latest_end: tuple[int, float | None] = (-1, None)

    # -- folding events

    def apply(self, event: dict[str, Any]) -> str | None:
        """Fold one event in; returns why it was not applied, if it was not."""
        problem = event_problem(event)
        if problem is not None:
            return problem
        kind = event["type"]
        when = event.get("time")
        if isinstance(when, (int, float)):
            self.last_update = when
        if kind == "end":  # most events: each experiment's end, by every worker
            count = event["count"]
            if count > self.max_count:  # a number seen anywhere is never handed out again
                self.max_count = count
            self._apply_end(event)
            following = event.get("next")
            if following is not None:
                self._start(following["count"], following["experiment"], when)
            return None
        if kind == "assign":
            return self._apply_assign(event)
        if kind == "reserve":
            return self._apply_reserve(event)
        if kind == "update":
            self.max_count = max(self.max_count, event["count"])
            return self._apply_update(event)
        elif kind == "progress":
            return self._apply_progress(event)
        elif kind == "start":
            self._start(event["count"], event["experiment"], event.get("time"))
        elif kind == "release":
            self._apply_release(event)
        elif kind == "exhausted":
            self.exhausted = True
        elif kind == "created":
            self.created = event.get("time")
        return None

    def _apply_assign(self, event: dict[str, Any]) -> str | None:
        return self._assign(event["count"], event["experiment"], event["pid"], event["trial"],
                            event.get("retry", 0), event["params"], self._worker_of(event),
                            event.get("time", 0.0), event.get("extra", {}),
                            event.get("reserved") is True)

    def _apply_reserve(self, event: dict[str, Any]) -> str | None:
        """A decision's reservations: each item as an assign with ``reserved``, by the
        event's worker, at its time, with (a copy of) its extra. Items that cannot be
        applied are skipped, the others applied; returns the first problem."""
        when, extra = event.get("time", 0.0), event.get("extra")
        worker = self._worker_of(event)
        problem = None
        for count, experiment, pid, trial, retry, params in event["items"]:
            found = self._assign(count, experiment, pid, trial, retry, params, worker, when,
                                 {} if extra is None else dict(extra), True)
            if problem is None:
                problem = found
        return problem

    def _assign(self, count: int, experiment: str, pid: str, trial: int, retry: int,
                params: dict[str, Any], worker: Worker, when: float,
                extra: dict[str, Any], reserved: bool) -> str | None:
        # Every worker folds every assignment of its search: each field is read once, and
        # nothing is looked up twice (see `benchmarks/pg_throughput.py`).
        if count in self.assignments or count in self.reserved:
            return f"experiment number {count} assigned twice (the second is ignored)"
        if pid not in self._row_cache:
            try:
                self.row_of(pid, params)
            except (KeyError, TypeError, ValueError):
                return f"assign #{count} has parameters outside this search's space"
            self._params[pid] = params
        assignment = Assignment(count, experiment, pid, trial, retry, params,
                                worker, when, extra=extra)
        if count > self.max_count:
            self.max_count = count
        if reserved:
            self.reserved[count] = assignment  # taken, not running (see `_start`)
        else:
            self.assignments[count] = assignment
            self._touch(count)
            self.running[count] = assignment
            self.counts[State.RUNNING] += 1
        if retry > 0:
            self.retries += 1
        key = (pid, trial)
        if self.released:
            self.released.pop(key, None)  # handed out again
        attempts = self.attempts.get(key)
        if attempts is None:
            self.attempts[key] = [count]
        else:
            attempts.append(count)
            self.retryable.pop(key, None)  # only a (pid, trial) tried before can be there
        combos = self.combos
        if retry == 0:
            handed = combos[pid] = combos.get(pid, 0) + 1
            if handed < self.trials:
                self.partial[pid] = None
            else:
                self.partial.pop(pid, None)
        elif pid not in combos:
            combos[pid] = 0

    def _reservation(self, count: int, experiment: str) -> Assignment | None:
        """The reservation a start or release names (by number and experiment key), taken
        out of `reserved`; None when it is not reserved (started, or released meanwhile:
        its number may have been handed out again since)."""
        assignment = self.reserved.get(count)
        if assignment is None or assignment.experiment_id != experiment:
            return None
        return self.reserved.pop(count)

    def _start(self, count: int, experiment: str, when: float | None) -> None:
        """A reservation starts running (unless it was released meanwhile)."""
        assignment = self._reservation(count, experiment)
        if assignment is None:
            return
        if when is not None:
            assignment.start_time = when
        self.assignments[count] = assignment
        self.running[count] = assignment
        self.counts[State.RUNNING] += 1
        self._touch(count)

    def _apply_release(self, event: dict[str, Any]) -> None:
        """A reservation goes back: undone as if never handed out, and queued to be handed
        out again as it was (same parameter set, trial, retry number and experiment
        number)."""
        assignment = self._reservation(event["count"], event["experiment"])
        if assignment is None:
            return  # started, or released twice
        key = (assignment.pid, assignment.trial)
        attempts = self.attempts.get(key)
        if attempts is not None and assignment.count in attempts:
            attempts.remove(assignment.count)
            if not attempts:
                del self.attempts[key]
        if assignment.retry > 0:
            self.retries -= 1
        elif assignment.pid in self.combos:
            self.combos[assignment.pid] -= 1  # the set stays taken: nobody else draws it
        self.released[key] = (assignment.retry, assignment.count)

    def _worker_of(self, event: dict[str, Any]) -> Worker:
        """The event's worker, one object per process: a worker assigns many times."""
        get = event.get
        host, process, start, boot, pidns = (get("host"), get("process"), get("process_start"),
                                             get("boot"), get("pidns"))
        if not (type(host) is str and type(process) is int and type(start) is int
                and type(boot) is str and type(pidns) is int):
            return Worker.from_event(event)  # odd (hand-written): never shared
        key = (host, process, start, boot, pidns)
        worker = self._workers.get(key)
        if worker is None:
            worker = self._workers[key] = Worker.from_event(event)
        return worker

    def _apply_end(self, event: dict[str, Any]) -> None:
        assignment = self.running.pop(event["count"], None)
        if assignment is None:
            return  # ended twice (e.g. marked failed, then the worker reported): first wins
        self._set_outcome(assignment, event)
        key = (assignment.pid, assignment.trial)
        if assignment.state is State.COMPLETED:
            self._observe(assignment)
        elif key not in self.done_keys:
            self.retryable[key] = None

    def _set_outcome(self, assignment: Assignment, event: dict[str, Any]) -> None:
        """Copy an end or update event's outcome onto the assignment, counts included."""
        before = assignment.state
        self._touch(assignment.count)
        get = event.get
        assignment.state = state = _STATE_OF[event["status"]]
        assignment.end_time = get("time", assignment.end_time)
        assignment.score = decode_score(get("score"))
        assignment.reason = get("reason")
        assignment.metrics = get("metrics", assignment.metrics)
        if not event.keys() <= PLAIN_RESULT_KEYS:  # it carries some of RESULT_FIELDS
            for key in RESULT_FIELDS:
                if key in event:
                    assignment.extra[key] = event[key]
        counts = self.counts
        counts[before] -= 1
        counts[state] += 1
        if state is State.COMPLETED:
            key = (assignment.pid, assignment.trial)
            self.done_keys.add(key)
            self.retryable.pop(key, None)
            if self.released.get(key, (0, 0))[0] > 0:
                del self.released[key]  # a retry given back is no longer needed

    def _apply_update(self, event: dict[str, Any]) -> str | None:
        """A late result replaces the recorded outcome of an experiment that had ended."""
        assignment = self.assignments.get(event["count"])
        if assignment is None:
            return f"an update of experiment #{event['count']}, which was never assigned"
        if assignment.state is State.RUNNING:
            self._apply_end(event)
            return None
        self._set_outcome(assignment, event)
        self._observe(assignment)
        return None

    def _apply_progress(self, event: dict[str, Any]) -> str | None:
        count = event["count"]
        assignment = self.running.get(count)
        if assignment is None:  # ended meanwhile: its end is the record
            return None if count in self.assignments else (
                f"progress of experiment #{count}, which was never assigned")
        assignment.metrics = event["metrics"]
        self._touch(count)
        return None

    def _observe(self, assignment: Assignment) -> None:
        """Record (or re-record, after an update) what the algorithms learn from."""
        score = assignment.score
        oriented = math.inf if score is None or not math.isfinite(score) else (
            -score if self.maximize else score)
        index = self._observed_at.get(assignment.count)
        if assignment.state is not State.COMPLETED:
            oriented = math.inf if index is not None else None  # withdrawn: learn nothing
        if index is None:
            if oriented is None:
                return
            observed = self._observed_at  # a row for each, in order: its size is the next
            observed[assignment.count] = len(observed)
            self._rows.append(self.row(assignment))
            self._scores.append(oriented)
        else:
            self._scores.array[index] = oriented
            if self.best is assignment:
                self._find_best()
        if assignment.state is State.COMPLETED and math.isfinite(oriented):
            best = self.best
            if best is None or oriented < (-best.score if self.maximize else best.score):
                self.best = assignment

    def _find_best(self) -> None:
        self.best = None
        for count in self._observed_at:
            candidate = self.assignments[count]
            score = candidate.score
            if candidate.state is not State.COMPLETED or score is None \
                    or not math.isfinite(score):
                continue
            oriented = -score if self.maximize else score
            if self.best is None or oriented < (-self.best.score if self.maximize
                                                else self.best.score):
                self.best = candidate

    def row_of(self, pid: str, parameters: dict[str, Any]) -> np.ndarray:
        row = self._row_cache.get(pid)
        if row is None:
            row = self.space.encode(parameters)
            self._row_cache[pid] = row
        return row

    def row(self, assignment: Assignment) -> np.ndarray:
        return self.row_of(assignment.pid, assignment.parameters)

    # -- what readers need

    def _touch(self, count: int) -> None:
        self.changes += 1
        self._changed.pop(count, None)  # re-inserted last: the log stays in change order
        self._changed[count] = self.changes

    def changed_since(self, position: int) -> list[int]:
        """The experiments changed after change number ``position``, newest change first.

        Costs in proportion to what changed, not to the size of the search.
        """
        changed = []
        for count in reversed(self._changed):
            if self._changed[count] <= position:
                break
            changed.append(count)
        return changed

    def latest_end(self) -> float | None:
        """When the last experiment ended (None before any did); recomputed only after a
        change."""
        if self._latest_end[0] != self.changes:
            ends = [a.end_time for a in self.assignments.values() if a.end_time]
            self._latest_end = (self.changes, max(ends) if ends else None)
        return self._latest_end[1]

    # -- what the algorithms and the budget need

    @property
    def assigned(self) -> int:
        return len(self.assignments)

    @property
    def next_count(self) -> int:
        """The number of the next experiment: above every number ever seen, damage or not."""
        return self.max_count + 1

    def history(self) -> History:
        pending = [self.row(a) for a in self.running.values()]
        width = len(self.space.dimensions)
        return History(
            completed=self._rows.array,
            scores=self._scores.array,
            pending=np.array(pending).reshape(len(pending), width),
        )

    def next_retry(self, retry_assign_limit: int) -> tuple[str, int] | None:
        """The oldest failed/aborted (pid, trial) that may be handed out again."""
        if retry_assign_limit <= 0:
            return None
        for key in self.retryable:
            attempts = self.attempts[key]
            if len(attempts) <= retry_assign_limit and not any(
                c in self.running for c in attempts
            ):
                return key
        return None

    def next_trial(self) -> tuple[str, int] | None:
        """A parameter set whose ``trials`` repeats are not all handed out yet."""
        for pid in self.partial:
            return pid, self.combos[pid] + 1
        return None

    def next_released(self) -> tuple[tuple[str, int], int, int] | None:
        """The oldest released reservation, as ((pid, trial), retry, count): handed out
        again (under its number) before any new parameter set."""
        for key, (retry, count) in self.released.items():
            return key, retry, count
        return None

    def parameters_of(self, pid: str) -> dict[str, Any]:
        params = self._params.get(pid)
        if params is None:
            count = self.attempts[(pid, 1)][0]
            return self.assignments[count].parameters
        return params
