"""The Optimizer: Comet's API over the assignment life cycle.

It decides *when* to ask the algorithm and *what to record*: the budget,
``trials`` repeats, uniqueness, re-assignment of failed and aborted
experiments, and the liveness of workers. The algorithm decides *which*
parameters; the store decides how records survive.

Threads and processes: an Optimizer and its Experiments may be shared between
threads; every decision (read what is new, decide, append) happens under one
lock per Optimizer, and the state changes nowhere else. After ``fork`` the
child opens its own journal descriptor and heartbeat before its first
decision, and experiments open in the parent stay the parent's to end.

Example:
    >>> from comet_optimize import Optimizer
    >>> opt = Optimizer({"algorithm": "grid",
    ...                  "parameters": {"x": [1, 2, 3]}}, verbose=0, store=tmp_store)
    >>> for experiment in opt.get_experiments(project_name="demo"):
    ...     experiment.log_metric("loss", (experiment.get_parameter("x") - 2) ** 2)
    >>> opt.status()["best"]["parameters"]
    {'x': 2}
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import gc
import math
import os
import secrets
import sys
import time
import uuid
import warnings
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from comet_optimize import __version__, blas, echo, messages, progress, safe_files
from comet_optimize import config as config_module
from comet_optimize.algorithms import make_algorithm
from comet_optimize.algorithms.base import History
from comet_optimize.errors import InvalidOptimizerParameters, OptimizerException
from comet_optimize.experiment import (
    Experiment,
    failure_reason,
    held_by_a_running_thread,
    not_made_by_the_script,
)
from comet_optimize.liveness import dead_among, lease_seconds, start_heartbeat, this_process
from comet_optimize.space import Space
from comet_optimize.state import SearchState, State
from comet_optimize.store import check_optimizer_id, is_optimizer_id, new_optimizer_id, open_store
from comet_optimize.store.base import Damage, JournalConflict, JournalGone
from comet_optimize.waiting_lock import WaitingLock

_live_optimizers: weakref.WeakSet[Optimizer] = weakref.WeakSet()
CONFLICT_ATTEMPTS = 5  # decisions retried after the store lost its lock (JournalConflict)
# Reservations (see `Optimizer.get_experiments`): a worker holds at most this much of its
# own work, by the pace of its last experiments, and never more than RESERVE_MAX of them.
RESERVE_SECONDS = 0.05
RESERVE_MAX = 32


# Optimizers with experiments still open in this process, held strongly so that an
# Optimizer the script no longer references still ends them at exit.
_holding_open: set[Optimizer] = set()


_prepared_in = 0  # the process that loaded what decisions need (see below)


def _prepare_to_decide(suggesting: Callable[[], Any]) -> None:
    """What a process's decisions would do on first use, done when an Optimizer that may
    decide is made, outside any lock; then, once per process, one full garbage collection.

    A worker's first decisions come while the other workers queue for the same lock,
    and each of them waits out whatever those decisions load on first use: numpy
    imports ``numpy.random`` when it is first touched (10 ms alone, 50 ms among 16
    starting workers, inside the lock), the first Experiment imports the auto-logging
    module, and bayes's one-thread BLAS limit (``suggesting``) looks through the
    process's libraries when modules were imported since its last look (a few ms,
    at the first decision and again after the first Experiment's import). 16 workers
    starting together on one PostgreSQL search had their worst waits there.

    The collection: a worker's imports (numpy, scipy, a database driver) leave a few
    hundred thousand objects that Python's collector has not yet examined in full,
    and its first full collection then comes during the search: 50-100 ms that often
    fall inside the search's lock. Done now, the next one is far off (Python waits
    until the objects that survived since number a quarter of those the last full
    collection examined). Measured with 16 workers on one PostgreSQL search of 5,000
    experiments: no full collection during the run instead of one per worker, the
    collector's share of the workers' CPU 9% -> 3%, its longest pause 83 -> 23 ms.
    """
    global _prepared_in
    first = _prepared_in != os.getpid()
    if first:
        _prepared_in = os.getpid()
        import numpy.random  # noqa: F401

        from comet_optimize import autolog

        autolog.prepare()
    with suggesting():  # after the imports, so that its look stays valid
        pass
    if first and gc.isenabled():
        gc.collect()


def live_optimizers() -> list[Optimizer]:
    return list(_live_optimizers)


_info = messages.info
_warning = messages.warning


class Optimizer:
    """A hyperparameter search, created from a config or attached to by id.

    ``config`` is a dict, a path to a config file, or an optimizer id (bare, or
    as `get_id` gives it: ``"COMET_OPTIMIZER_ID=<id>"``); when
    ``COMET_OPTIMIZER_ID`` is set, that search is attached to instead.

    ``experiment_class`` (Comet's option) says what `next` and `get_experiments`
    hand out: ``"Experiment"`` or ``"OfflineExperiment"`` (both our offline
    `Experiment`), or a callable taking ``Experiment``'s arguments
    (``optimizer_data=``, ``project_name=``, ...), typically a subclass.
    """

    def __init__(self, config: dict | str | os.PathLike | None = None,
                 trials: int | None = None, verbose: int = 1, store: str | None = None,
                 readonly: bool = False, experiment_class: Any = "Experiment",
                 **experiment_kwargs: Any):
        self.verbose = verbose
        self.readonly = readonly
        self.experiment_kwargs = experiment_kwargs
        self.experiment_class = _experiment_factory(experiment_class)
        self._said_complete = False
        self._lock = self._new_lock()
        self._pid = os.getpid()
        self._open: dict[int, Experiment] = {}  # this process's unended experiments
        # Assignments written but not yet in an Experiment: a signal between the two
        # (a SIGTERM handler that exits, Ctrl-C) must not leave them running unexplained.
        self._unclaimed: dict[int, dict[str, Any]] = {}
        # Whether this process is in the middle of reading or writing the journal, and
        # what a signal handler asked to write meanwhile (see `_transaction`).
        self._busy = self._draining = False
        self._deferred: list[tuple[Callable[[float], Any], Callable[[], None] | None]] = []
        # Assignments this process reserved and has not started, oldest first, and how
        # long its experiments take (see `get_experiments`).
        self._reserved: list[dict[str, Any]] = []
        self._pace: float | None = None
        self._handed_at: float | None = None
        self._batch = 1  # what the last decision in the loop could take
        self._damage_reported = 0
        self._store = open_store(store)
        if trials is not None:
            trials = config_module.validate_trials(trials, where="Optimizer(trials=...)")
        env_id = _bare_id(os.environ.get("COMET_OPTIMIZER_ID", ""))
        if isinstance(config, str):
            config = _bare_id(config)
        if env_id:
            launched = "COMET_OPTIMIZER_PROCESS_ID" in os.environ  # by comet optimize: expected
            if config is not None and verbose and not launched:
                _info(f"COMET_OPTIMIZER_ID is set: attaching to {env_id}, ignoring the given "
                      f"config")
            self._attach(env_id.strip(), trials)
        elif config is None:
            raise OptimizerException(
                "Optimizer needs a config (a dict or a config file) or an optimizer id"
            )
        elif readonly:
            self._attach(str(config).strip(), trials)
        elif isinstance(config, dict):
            self._create(config, trials, source=None)
        elif isinstance(config, (str, os.PathLike)):
            text = os.fspath(config)
            if os.path.isfile(text) or safe_files.is_fifo(text):  # a pipe: <(...), /dev/stdin
                self._create(config_module.read_config_file(text), trials, source=text)
            elif is_optimizer_id(text.strip()):
                self._attach(text.strip(), trials)
            elif os.path.exists(text):
                raise OptimizerException(f"{text}: not a config file")
            else:
                raise OptimizerException(
                    f"{echo.clip(repr(text), 160)} is neither a config file nor an optimizer id "
                    f"(32 hex characters)"
                )
        else:
            raise OptimizerException(
                f"Optimizer config must be a dict, a file path or an id "
                f"(got {type(config).__name__})"
            )
        if verbose:
            _info(f"COMET_OPTIMIZER_ID={self.id}")
        _live_optimizers.add(self)
        if not readonly:
            _prepare_to_decide(self._suggesting)

    # -- creating and attaching

    def _create(self, raw: dict, trials: int | None, source: str | None) -> None:
        if trials is not None:
            raw = {**raw, "trials": trials}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            parsed = config_module.validate(raw, source=source)
        for warning in caught:
            if self.verbose:
                _warning(str(warning.message))
        if parsed.spec.seed is None:  # drawn once and stored: a resumed search continues it
            parsed = replace(parsed, spec=replace(parsed.spec, seed=secrets.randbits(63)))
        setup = self._derive(parsed)  # everything that can fail on a valid config, first
        self.id = new_optimizer_id()
        self._store.create(self.id, parsed.to_dict())
        self._setup(parsed, *setup)
        self._transaction(lambda now: [
            {"type": "created", "time": now, "version": __version__}])

    def _attach(self, optimizer_id: str, trials: int | None) -> None:
        check_optimizer_id(optimizer_id)
        self.id = optimizer_id
        stored = self._store.read_config(optimizer_id)
        try:
            parsed = config_module.validate(stored)
        except InvalidOptimizerParameters as error:
            raise OptimizerException(f"the stored config of {optimizer_id} is invalid: {error}") \
                from None
        if trials is not None and trials != parsed.trials and self.verbose:
            _warning(f"trials={trials} ignored: the search {optimizer_id} was created with "
                     f"trials={parsed.trials}")
        self._setup(parsed, *self._derive(parsed))
        with self._lock:
            self._apply(self._journal.read_new())

    @staticmethod
    def _derive(parsed: config_module.OptimizerConfig):
        space = Space.from_config(parsed)
        return space, make_algorithm(parsed, space)

    def _setup(self, parsed: config_module.OptimizerConfig, space: Space, algorithm) -> None:
        self.parsed_config = parsed
        # bayes's GP works on small matrices, where BLAS threads cost more than they save
        self._suggesting = (blas.one_thread if parsed.algorithm == "bayes"
                            else contextlib.nullcontext)
        self.config = parsed.to_dict()
        self.space = space
        self.algorithm = algorithm
        self.state = self._new_state()
        self._journal = self._store.journal(self.id, readonly=self.readonly)
        self._invalid: list[Damage] = []

    def _new_state(self) -> SearchState:
        parsed = self.parsed_config
        return SearchState(self.space, parsed.spec.objective == "maximize", parsed.trials)

    # -- the one place the state changes

    def _own(self) -> None:
        """After a fork: a new lock, and no claim on the parent's open experiments."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._lock = self._new_lock()
            self._open = {}
            self._unclaimed = {}
            self._busy = self._draining = False
            self._deferred = []
            self._reserved = []  # the parent's, to start or release
            self._pace = self._handed_at = None
            self._batch = 1

    def _apply(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            problem = self.state.apply(event)
            if problem is not None:
                at = event.get("_at", -1)
                self._invalid.append(Damage(at if isinstance(at, int) else -1, 1, problem))
        self._report_damage()

    def _report_damage(self) -> None:
        """One warning per read that found damage, however many places it found:
        a journal damaged throughout would otherwise print a line per event."""
        damage = self.damage
        if len(damage) > self._damage_reported:
            first, *more = damage[self._damage_reported:]
            others = f" and {len(more)} more place(s)" if more else ""
            _warning(f"the journal of {self.id} is damaged at byte {first.offset} "
                     f"({first.reason}){others}; that part is skipped "
                     f"(see 'comet optimize check {self.id}')")
            self._damage_reported = len(damage)

    @property
    def damage(self) -> list[Damage]:
        """Parts of the journal that could not be used, in the order found."""
        return list(self._journal.damage) + list(self._invalid)

    def _record(self, events: list[dict[str, Any]]) -> None:
        """Fold events into the state now; the transaction writes them in one append."""
        self._apply(events)
        self._pending_events.extend(events)

    def _transaction(self, decide: Callable[[float], Any],
                     written: Callable[[], None] | None = None) -> Any:
        """Read what is new, decide, append: atomic across threads and processes.

        ``decide`` may `_record` events (so later decisions in it see them) and may
        return a list of more. ``written`` runs once the append is on disk, still
        under the lock. If anything fails before that, the state is rebuilt from
        the journal, so memory never holds what the journal does not.

        A transaction asked for while this thread is already inside one (a signal
        handler that logs a metric or ends an experiment, interrupting a write) is
        run as soon as the interrupted one is done, not in the middle of it, where it
        would take the events the interrupted one was about to write; it returns None.
        So is one asked for while this thread waits for the lock (a handler run
        inside that wait, whatever the wait was for): waiting there too, it would be
        run again by the next signal, nested; it is run once the thread lets go of
        the lock (`comet_optimize.waiting_lock`).
        """
        if self.readonly:
            raise OptimizerException(f"the search {self.id} was opened read-only")
        if self._lock.waiting_here():
            self._deferred.append((decide, written))
            return None
        with self._lock:
            self._own()
            if self._busy:
                self._deferred.append((decide, written))
                return None
            with self._mid_write():
                result = self._attempts(decide)
            if written is not None:
                written()
            self._run_deferred()
            return result

    @contextlib.contextmanager
    def _mid_write(self) -> Iterator[None]:
        """Marks this thread as inside a read or write of the journal, which a signal
        handler's own write must not interrupt (see `_transaction`)."""
        self._busy = True
        try:
            yield
        finally:
            self._busy = False

    def _new_lock(self) -> WaitingLock:
        """The optimizer's lock; once a thread lets go of it, what a signal handler left
        for later is written (the reference is weak: an Optimizer nobody holds is freed
        at once, and its journal descriptor with it)."""
        lock = WaitingLock()
        me = weakref.WeakMethod(self._write_deferred)

        def on_free() -> None:
            write = me()
            if write is not None:
                write()

        lock.on_free = on_free
        return lock

    def _write_deferred(self) -> None:
        if self._deferred and not self.readonly and self._pid == os.getpid():
            with self._lock:
                if not self._busy:
                    self._run_deferred()

    def _run_deferred(self) -> None:
        """What a signal handler asked to write mid-write, in order (see `_transaction`)."""
        while self._deferred and not self._draining:
            self._draining = True
            try:
                self._transaction(*self._deferred.pop(0))
            finally:
                self._draining = False

    def _attempts(self, decide: Callable[[float], Any]) -> Any:
        """`_transaction`'s work, tried again while the store reports a lost lock."""
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                with self._journal.locked() as new_events:
                    self._apply(new_events)
                    self._pending_events = []
                    result = decide(time.time())
                    if isinstance(result, list):
                        self._record(result)
                    self._journal.append(self._pending_events)
                break
            except JournalConflict:
                # The store lost our lock (a server restart) and others wrote: our
                # view was wrong and nothing of ours was written. Look again, decide again.
                self._rebuild()
                if attempt + 1 == CONFLICT_ATTEMPTS:
                    raise
            except JournalGone:
                raise  # nothing was decided; what is under the name now is not ours
            except BaseException:
                self._rebuild()
                raise
            finally:
                self._pending_events = []
        return result

    def _rebuild(self) -> None:
        self._journal.close()
        self._journal = self._store.journal(self.id, readonly=self.readonly)
        self._invalid = []
        self.state = self._new_state()
        self._apply(self._journal.read_new())

    # -- identity and budget

    def get_id(self) -> str:
        """As Comet: ``"COMET_OPTIMIZER_ID=<id>"``, ready for a shell's ``export``.

        The bare id is ``opt.id``; `Optimizer` accepts either.
        """
        return f"COMET_OPTIMIZER_ID={self.id}"

    @property
    def store(self):
        return self._store

    @property
    def config_space_size(self) -> int | None:
        return self.algorithm.size

    @property
    def max_combo(self) -> int | None:
        """Distinct parameter sets this search will hand out (None: until stopped)."""
        spec = self.parsed_config.spec
        size = self.config_space_size
        # The docs: 0 means 10 x the number of parameters, for every algorithm (grid
        # included: a user who wants the whole grid sets maxCombo to its size).
        wanted = spec.max_combo or 10 * len(self.space.dimensions)
        return wanted if size is None else min(wanted, size)

    @property
    def budget(self) -> int | None:
        """The most experiments this search can assign (Comet's maxCombo x trials x retries)."""
        combos = self.max_combo
        if combos is None:
            return None
        spec = self.parsed_config.spec
        return combos * self.parsed_config.trials * (spec.retry_assign_limit + 1)

    # -- the life cycle

    def _presumed_dead(self) -> dict[int, str]:
        """Running experiments whose worker is gone (or whose lease lapsed), with why."""
        running = list(self.state.running.values())
        verdicts = dead_among([(a.worker, a.start_time) for a in running], self._store, self.id)
        return {assignment.count: (f"worker process {assignment.worker.pid} on "
                                   f"{assignment.worker.host} died (or its heartbeat lease "
                                   f"lapsed)")
                for assignment, dead in zip(running, verdicts) if dead}

    def _dead_reservations(self) -> list[int]:
        """Reserved assignments whose worker is gone: they go back to the pool."""
        reserved = self.state.reserved
        if not reserved:
            return []
        held: dict[Any, list[int]] = {}
        since: dict[Any, float] = {}
        for count, assignment in reserved.items():
            held.setdefault(assignment.worker, []).append(count)
            since[assignment.worker] = min(since.get(assignment.worker, math.inf),
                                           assignment.start_time)
        workers = list(held)
        verdicts = dead_among([(w, since[w]) for w in workers], self._store, self.id)
        return sorted(count for worker, dead in zip(workers, verdicts) if dead
                      for count in held[worker])

    def _fail_dead_workers(self, now: float) -> list[dict[str, Any]]:
        """Dead workers' experiments failed, and their reservations released."""
        events = [{"type": "end", "count": count, "status": State.FAILED.value, "score": None,
                   "time": now, "reason": reason}
                  for count, reason in self._presumed_dead().items()]
        events += [_release(self.state.reserved[count], now,
                            "its worker died (or its heartbeat lease lapsed)")
                   for count in self._dead_reservations()]
        return events

    def _choose(self, now: float) -> tuple[str, int, int, dict[str, Any], int | None] | None:
        """(pid, trial, retry, params, count) of the next assignment, or None when nothing is
        left; count is None but for a released reservation (handed out under its number)."""
        state = self.state
        spec = self.parsed_config.spec
        key = state.next_retry(spec.retry_assign_limit)
        if key is not None:
            pid, trial = key
            return pid, trial, len(state.attempts[key]), state.parameters_of(pid), None
        released = state.next_released()
        if released is not None:  # a reservation that went back: handed out as it was
            (pid, trial), retry, count = released
            return pid, trial, retry, state.parameters_of(pid), count
        key = state.next_trial()
        if key is not None:
            return key[0], key[1], 0, state.parameters_of(key[0]), None
        max_combo = self.max_combo
        if state.exhausted or (max_combo is not None and len(state.combos) >= max_combo):
            return None
        rng = np.random.default_rng([spec.seed, state.max_count])
        algorithm = self.algorithm
        history = (History.empty(len(self.space.dimensions)) if algorithm.independent
                   else state.history())
        with self._suggesting():
            found = algorithm.suggest_with_id(history, rng, state.combos)
        if found is None:
            self._record([{"type": "exhausted", "time": now}])
            return None
        params, pid = found
        return pid, 1, 0, params, None

    def _result_event(self, experiment: Experiment, now: float,
                      failed: str | None) -> dict[str, Any] | None:
        """``end`` while the experiment runs; ``update`` if it was ended meanwhile.

        None when it was ended meanwhile and this handle has nothing to add (a
        handle this process kept for an assignment another process reported).
        """
        assignment = self.state.assignments.get(experiment.count)
        if assignment is None or assignment.state is State.RUNNING:
            return experiment.result_event("end", now, failed)
        if not experiment.logged_anything:
            return None
        # A failure after a recorded end (the exit cut short the write that ended it,
        # before this handle heard) does not undo a completed result.
        event = experiment.result_event(
            "update", now, failed if assignment.state is State.FAILED else None)
        if assignment.state is State.FAILED and not experiment.ended:
            _warning(f"experiment #{experiment.count} had been recorded as failed "
                     f"({assignment.reason}); its late result is recorded now")
        return event

    def _assign(self, extra: dict[str, Any], ending: Experiment | None = None,
                reserve: bool = False):
        """Hand out the next assignment (ending ``ending`` first, in the same append).

        ``reserve`` (the `get_experiments` loop): start this process's next
        reservation without a decision, or reserve a few more in this decision
        (see `get_experiments`).
        """
        worker = this_process()
        if not self.readonly:
            start_heartbeat(self._store, self.id)
        batch = 1
        if reserve:
            batch = self._batch_size()
            if len(self._reserved) > batch and (self._pace or 0) >= 10 * RESERVE_SECONDS:
                # Its experiments got slow (not a moment's preemption): what it could not
                # start soon goes back, for other workers to take.
                self._release_reserved("its worker's experiments got slower", keep=batch)
            with self._lock:
                self._own()
                ready = bool(self._reserved) and self._reserved[0].get("extra", {}) == extra
            if ready:
                assign = self._start_reserved(ending)
                if assign is not None:
                    self._handed_at = time.monotonic()
                    return self._handout(assign)
                # Taken back meanwhile (this worker was presumed dead): decide instead.
            self._batch = batch
            # What others wrote since, folded before the lock rather than in it (at the
            # start of a search, the queue for the lock waited on each worker's fold).
            with self._lock:
                self._own()
                self._apply(self._journal.read_new())
        ended: list[tuple[Experiment, State | None]] = []
        handed: list[dict[str, Any]] = []
        reserved: list[dict[str, Any]] = []

        def decide(now: float):
            ended.clear()  # decided afresh if the store made us decide again
            for earlier in handed:
                self._unclaimed.pop(earlier["count"], None)
            handed.clear()
            reserved.clear()
            if ending is not None and not ending.ended:
                event = self._result_event(ending, now, None)
                if event is not None:
                    self._record([event])
                ended.append((ending, State(event["status"]) if event else None))
            # Reservations made for other experiment arguments go back first.
            self._record([_release(held, now, "released by its worker")
                          for assign, held in zip(self._reserved, map(
                              self.state.reserved.get, [a["count"] for a in self._reserved]))
                          if held is not None and held.experiment_id == assign["experiment"]])
            self._record(self._fail_dead_workers(now))
            first = reservation = None
            for _ in range(batch if self.algorithm.independent else 1):
                choice = self._choose(now)
                if choice is None:
                    break
                pid, trial, retry, params, count = choice
                assign = {
                    "type": "assign", "count": count or self.state.next_count,
                    "experiment": uuid.uuid4().hex, "pid": pid, "trial": trial,
                    "retry": retry, "params": params, **worker.to_event(), "time": now,
                }
                if extra:  # each its own: an outcome's fields are recorded on it
                    assign["extra"] = dict(extra)
                if first is None:
                    first = assign
                    self._record([assign])
                    continue
                assign["reserved"] = True
                reserved.append(assign)
                # Folded here one by one (the next choice must see it), written with the
                # others as one ``reserve`` event that names this worker once: every worker
                # of the search parses what is written (see `comet_optimize.state`).
                self._apply([assign])
                if reservation is None:
                    reservation = {"type": "reserve", **worker.to_event(), "time": now,
                                   "items": []}
                    if extra:
                        reservation["extra"] = extra
                    self._pending_events.append(reservation)
                reservation["items"].append([assign["count"], assign["experiment"], pid,
                                             trial, retry, params])
            if first is None:
                return None
            # Claimed by an Experiment once handed over; until then the exit hook ends
            # it, if the journal has it (the append, or its flush, may be cut short).
            handed.append(first)
            self._unclaimed[first["count"]] = first
            _holding_open.add(self)
            return first

        def written() -> None:
            self._reserved = list(reserved)
            if reserved:
                _holding_open.add(self)
            for experiment, status in ended:
                self._closed(experiment, status)

        assign = self._transaction(decide, written)
        if assign is None:
            if self.verbose and not self._said_complete:
                self._said_complete = True
                _info(f"Optimizer search {self.id} has completed")
            return None
        if reserve:
            self._handed_at = time.monotonic()
        return self._handout(assign)

    def _batch_size(self) -> int:
        """How many assignments the next decision may take: as many as this worker's
        experiments take in `RESERVE_SECONDS` (the script's time from one hand-out to
        its next call), at most `RESERVE_MAX`; one until that time is known. A slow
        search thus keeps one assignment at a time, and reserved work never waits long.
        It at most doubles from one decision to the next: workers that start together
        queue for the lock, and each holds it while it chooses its batch, so the first
        ones in the queue choose few."""
        if self._handed_at is not None:
            took = time.monotonic() - self._handed_at
            self._handed_at = None
            # Slower at once, faster gradually: one slow experiment shrinks the batch.
            self._pace = took if self._pace is None or took > self._pace \
                else 0.7 * self._pace + 0.3 * took
        if self._pace is None:
            return 1
        return max(1, min(RESERVE_MAX, 2 * self._batch,
                          int(RESERVE_SECONDS / max(self._pace, 1e-6))))

    def _start_reserved(self, ending: Experiment | None) -> dict[str, Any] | None:
        """End ``ending`` and start this process's next reservation, in one write that
        needs no decision (`Journal.write`: the lock is not held across a round trip).

        What others wrote first is folded before our events, as the journal orders
        them. If one of them ended ``ending`` (a lease that lapsed), our end is
        ignored there, and its result is recorded again as an update; if one took
        our reservation back, nothing is started (None: the caller decides).
        """
        with self._lock:
            self._own()
            if self._busy or not self._reserved:
                # A signal handler's, mid-write (the caller's decision is deferred), or
                # another thread's loop took the reservation first: the caller decides.
                return None
            with self._mid_write():
                started = self._write_start(ending)
            self._run_deferred()
        if started is None:
            return None
        assign, result, ignored = started
        if ending is not None and result is not None and not ignored:
            self._closed(ending, State(result["status"]))
        elif ending is not None and not ending.ended:
            # Ended by another process first: recorded as that process's outcome allows.
            self._experiment_ended(ending, None)
        return assign

    def _write_start(self, ending: Experiment | None
                     ) -> tuple[dict[str, Any] | None, dict[str, Any] | None, bool]:
        """`_start_reserved`'s write: (the assignment started or None, the end event written
        or None, whether the journal ignored it)."""
        assign = self._reserved[0]
        now = time.time()
        events: list[dict[str, Any]] = []
        result = None
        if ending is not None and not ending.ended:
            result = self._result_event(ending, now, None)
        start = {"count": assign["count"], "experiment": assign["experiment"]}
        if result is not None and result["type"] == "end":
            # The start rides on the end (one event fewer for every worker to read).
            events.append({**result, "next": start})
        else:
            if result is not None:
                events.append(result)
            events.append({"type": "start", **start, "time": now})
        self._unclaimed[assign["count"]] = assign  # ended at exit if written
        try:
            before = self._journal.write(events)
        except JournalGone:
            raise
        except BaseException:
            self._rebuild()
            raise
        self._reserved.pop(0)
        self._apply(before)
        running = self.state.running.get(ending.count) if ending is not None else None
        ignored = result is not None and result["type"] == "end" and running is None
        self._apply(events)
        started = self.state.running.get(assign["count"])
        if started is None or started.experiment_id != assign["experiment"]:
            self._unclaimed.pop(assign["count"], None)
            assign = None
        return assign, result, ignored

    def _release_reserved(self, reason: str = "released by its worker", keep: int = 0) -> None:
        """Give back this process's reservations (the loop ended, or the process does), but
        for the first ``keep``."""
        if self.readonly or self._pid != os.getpid() or len(self._reserved) <= keep:
            return
        with self._lock:
            self._own()
            mine, self._reserved = self._reserved[keep:], self._reserved[:keep]

        def decide(now: float):
            out = []
            for assign in mine:
                count = assign["count"]
                held = self.state.reserved.get(count)
                if held is not None and held.experiment_id == assign["experiment"]:
                    out.append(_release(held, now, reason))
                else:
                    running = self.state.running.get(count)
                    if running is not None and running.experiment_id == assign["experiment"]:
                        # Its start was written, the hand-out cut short (an interrupted write).
                        out.append({"type": "end", "count": count,
                                    "status": State.FAILED.value, "score": None, "time": now,
                                    "reason": "the process exited before the experiment "
                                              "reached the script"})
            return out

        self._transaction(decide)

    def _handout(self, assign: dict[str, Any]) -> dict[str, Any]:
        """Comet's ``optimizer_data`` for an assign event."""
        return {
            "id": self.id, "parameters": dict(assign["params"]), "pid": assign["pid"],
            "trial": assign["trial"], "count": assign["count"],
            "experiment_key": assign["experiment"], "retry": assign["retry"],
            "optimizer_id": self.id, "store": self._store.location,
        }

    def _closed(self, experiment: Experiment, status: State | None) -> None:
        experiment._mark_ended(status)
        with self._lock:
            if self._open.get(experiment.count) is experiment:
                del self._open[experiment.count]
            if not self._open and not self._unclaimed and not self._reserved:
                _holding_open.discard(self)

    # -- what Experiments call (see experiment.Search)

    def _experiment_folder(self, experiment_key: str) -> str:
        """Where an experiment's files go (see `comet_optimize.assets`)."""
        from comet_optimize.assets import folder_for

        return folder_for(self._store, self.id, experiment_key)

    def _experiment_opened(self, experiment: Experiment) -> str:
        """Take a handle for an assignment of this search; return its experiment key.

        The handle may come from another process's ``next_data()``: it must name an
        assignment the journal has, or its end would record a result for nothing.
        """
        with self._lock:
            self._own()
            if experiment.count not in self.state.assignments and not self._busy:
                self._apply(self._journal.read_new())  # handed out elsewhere, just now
            assignment = self.state.assignments.get(experiment.count)
            if assignment is None or experiment.id not in (None, assignment.experiment_id):
                raise OptimizerException(
                    f"optimizer_data names experiment #{echo.show(experiment.count)}"
                    f"{'' if assignment is None else ' with another experiment key'}, which "
                    f"the search {self.id} never assigned: pass the dict that its "
                    f"next_data() returned")
            self._open[experiment.count] = experiment  # the newest handle for it wins
            self._unclaimed.pop(experiment.count, None)
            _holding_open.add(self)
            return assignment.experiment_id

    def _experiment_ended(self, experiment: Experiment, failed: str | None) -> None:
        done: list[dict[str, Any] | None] = []

        def decide(now: float):
            done.clear()  # decided afresh if the store made us decide again
            if experiment.ended:
                return None
            event = self._result_event(experiment, now, failed)
            done.append(event)
            return [event] if event is not None else None

        def close() -> None:
            if done:
                self._closed(experiment, State(done[0]["status"]) if done[0] else None)

        self._transaction(decide, close)

    def _experiment_updated(self, experiment: Experiment) -> None:
        def decide(now: float):
            event = experiment._update_event(now)  # None: an earlier update took it all
            return [event] if event is not None else None

        self._transaction(decide, experiment._update_recorded)

    def _experiment_progressed(self, experiment: Experiment,
                               metrics: dict[str, dict[str, Any]]) -> bool:
        """Write a progress event; False when this thread is mid-write (a signal handler
        that logs) or another thread holds the optimizer (a decision): progress is only
        ever a copy, so it waits for the next log rather than for the lock. (A signal
        handler that waited there was run again by the next signal, nested, until the
        recursion limit: a timer logging every 20 ms while threads ran bayes.)"""
        def decide(now: float):
            assignment = self.state.running.get(experiment.count)
            if experiment.ended or assignment is None:
                return None  # ended meanwhile (here, or failed by another process)
            return [progress.progress_event(experiment.count, metrics, experiment.metric, now)]

        if not self._lock.acquire(blocking=False):
            return False
        try:
            if self._busy:
                return False
            self._transaction(decide)
            return True
        finally:
            self._lock.release()

    # -- the public life cycle

    def next_data(self) -> dict[str, Any] | None:
        """The next assignment as Comet's dict (``id`` is the optimizer's), or None.

        Ends nothing: several assignments may be out at once. Report one with
        ``Experiment(optimizer_data=data)``, in this process or another.
        """
        data = self._assign({})
        if data is not None:
            held = Experiment(optimizer_data=data, _optimizer=self)  # ended at exit if nobody does
            not_made_by_the_script(held)
        return data

    def next(self, **experiment_kwargs: Any) -> Experiment | None:
        """The next Experiment, or None when the search has nothing left to hand out.

        Ends nothing: each experiment stays running until its own ``end()`` or the
        end of this process.
        """
        return self._next(experiment_kwargs, None)

    def _next(self, experiment_kwargs: dict[str, Any], ending: Experiment | None,
              reserve: bool = False):
        kwargs = {**self.experiment_kwargs, **experiment_kwargs}
        data = self._assign(_jsonable(kwargs), ending, reserve)
        if data is None:
            return None
        return self.experiment_class(data, self, kwargs)

    def get_parameters(self) -> Iterator[dict[str, Any]]:
        """`next_data` until the budget is spent (ends nothing: see `next_data`)."""
        while True:
            data = self.next_data()
            if data is None:
                return
            yield data

    def get_experiments(self, **experiment_kwargs: Any) -> Iterator[Experiment]:
        """Experiments until the budget is spent.

        The loop ends the experiment it yielded before it asks for the next one, in
        the same write, so bayes learns from each result at once. Unlike Comet,
        errors are raised, not hidden.

        Reservations: when the algorithm's choice does not depend on results
        (random, grid) and this worker's experiments are short, one decision takes
        several assignments, the first started, the rest *reserved* for this
        worker (as many as its experiments take `RESERVE_SECONDS`, see
        `_batch_size`). Each later step then records the previous experiment's
        end and the next reservation's start in one write that decides nothing,
        and so never holds the search's lock while this process works. A
        reservation counts towards the budget and its parameter set is taken,
        but it is not running: status shows it as reserved. When the loop ends
        early, the process exits or dies (the liveness check), its reservations
        are released: handed out again as they were, neither failed nor retried.
        """
        previous = None
        try:
            while True:
                experiment = self._next(experiment_kwargs, previous, reserve=True)
                if experiment is None:
                    return
                yield experiment
                previous = experiment
        finally:  # the loop ended early (break, an exception): reservations go back
            try:
                self._release_reserved()
            except Exception as error:  # noqa: BLE001 - never turn a loop's end into this
                _warning(f"could not give back the reservations of {self.id}: {error}")

    def end(self, experiment: Experiment) -> None:
        if not isinstance(experiment, Experiment):
            raise OptimizerException(f"Optimizer.end() takes an Experiment, not "
                                     f"{type(experiment).__name__}")
        experiment.end()

    def _end_open_experiments(self, failed_reason: str | None = None) -> None:
        """End this process's open experiments at exit (failed, when the exit was not clean)."""
        if self.readonly or self._pid != os.getpid():
            return
        with self._lock:
            open_now = [e for e in self._open.values()
                        if not e.ended and not held_by_a_running_thread(e)]
            unclaimed = list(self._unclaimed.values())
        for experiment in open_now:
            if failed_reason is None:
                experiment.end()
            else:
                experiment._fail(failed_reason)
        for assign in unclaimed:
            if self._in_journal(assign):
                handle = Experiment(optimizer_data=self._handout(assign), _optimizer=self)
                handle._fail(failed_reason or "the process exited before the experiment "
                                              "reached the script")
        self._release_reserved("its worker exited before starting it")

    def _in_journal(self, assign: dict[str, Any]) -> bool:
        """Whether an assignment decided here was written (its key is unique)."""
        self._catch_up()
        with self._lock:
            recorded = self.state.assignments.get(assign["count"])
            return recorded is not None and recorded.experiment_id == assign["experiment"]

    # -- reporting

    def refresh(self) -> None:
        """Catch up with the journal and record workers that died as failed."""
        self._transaction(self._fail_dead_workers)

    def _catch_up(self) -> dict[int, str]:
        """Read what is new without the lock; return who is presumed dead (not recorded)."""
        with self._lock:
            self._own()
            if not self._busy:  # else a signal handler's look, mid-read: the state as it is
                with self._mid_write():
                    self._apply(self._journal.read_new())
            return self._presumed_dead()

    def is_complete(self, presumed_dead: dict[int, str] | None = None) -> bool:
        state = self.state
        if len(state.running) > len(presumed_dead or {}) or state.reserved or state.released:
            return False  # reservations are started or released, then handed out again
        spec = self.parsed_config.spec
        if state.next_retry(spec.retry_assign_limit) or state.next_trial():
            return False
        if presumed_dead and spec.retry_assign_limit > 0:
            return False  # the dead ones will be retried
        return state.exhausted or (
            self.max_combo is not None and len(state.combos) >= self.max_combo)

    def status(self) -> dict[str, Any]:
        """Comet's status keys with Comet's meanings, plus ours under names of their own.

        Comet's: ``algorithm``, ``comboCount`` (parameter sets handed out),
        ``configSpaceSize``, ``endTime``, ``id``, ``lastUpdateTime``, ``maxCombo``
        (as configured: 0 stays 0), ``name`` (the id when unnamed), ``parameters``,
        ``retryCount`` (re-assignments made), ``spec``, ``startTime``, ``state``
        (the algorithm's state), ``status``, ``suggestion_count``, ``trials``,
        ``version``; times in milliseconds since the epoch. Ours: ``started``,
        ``updated``, ``ended`` (the same times, in seconds), ``max_combo`` (the
        effective limit), ``budget``, the counts (``reserved``: assignments taken by a
        worker and not started, see `get_experiments`), ``best``, ``store``, ``damage``.

        Reads without taking the search's lock (a stopped worker cannot freeze it)
        and writes nothing: a worker found dead is shown as failed here and
        recorded so by the next process that makes a decision.
        """
        dead = self._catch_up()
        with self._lock:
            state = self.state
            complete = self.is_complete(dead)
            best = state.best
            ended = state.latest_end() if complete else None
            parsed = self.parsed_config
            damage = self.damage
            retries = state.retries
            return {
                "algorithm": parsed.algorithm,
                "comboCount": len(state.combos),
                "configSpaceSize": self.config_space_size,
                "endTime": _milliseconds(ended),
                "id": self.id,
                "lastUpdateTime": _milliseconds(state.last_update),
                "maxCombo": parsed.spec.max_combo,
                "name": parsed.name or self.id,
                "parameters": copy.deepcopy(self.config["parameters"]),
                "retryCount": retries,
                "spec": copy.deepcopy(self.config["spec"]),
                "startTime": _milliseconds(state.created),
                "state": {"seed": parsed.spec.seed, "exhausted": state.exhausted,
                          "sequence_i": state.assigned},
                "status": "completed" if complete else "running",
                "suggestion_count": state.assigned,
                "trials": parsed.trials,
                "version": __version__,
                "started": state.created,
                "updated": state.last_update,
                "ended": ended,
                "max_combo": self.max_combo,
                "budget": self.budget,
                "store": self._store.location,
                "assigned": state.assigned,
                "running": state.counts[State.RUNNING] - len(dead),
                "reserved": len(state.reserved),
                "completed": state.counts[State.COMPLETED],
                "aborted": state.counts[State.ABORTED],
                "failed": state.counts[State.FAILED] + len(dead),
                "best": best.to_dict() if best is not None else None,
                "damage": [{"offset": d.offset, "length": d.length, "reason": d.reason}
                           for d in damage],
                "lease": lease_seconds(),
            }

    def experiments(self) -> list[dict[str, Any]]:
        """Every assignment of this search, in order, as plain dicts."""
        return self.experiments_since(None).experiments

    def experiments_since(self, cursor: ExperimentsCursor | None) -> ExperimentChanges:
        """The experiments that changed after ``cursor``, as `experiments` shows them.

        ``cursor`` is the one the previous call returned (None: every experiment).
        Reads only what is new, like `status`, and costs in proportion to what
        changed: a live view of a big search asks this on every refresh. An
        experiment whose worker was found dead (or alive again) since the cursor
        counts as changed. When the state was rebuilt from the journal since the
        cursor, every experiment is returned with ``full`` set.
        """
        with self._lock:
            dead = self._catch_up()
            state = self.state
            full = cursor is None or cursor.generation != state.generation
            if full:
                counts = sorted(state.assignments)
            else:
                changed = set(state.changed_since(cursor.position))
                changed.update(cursor.dead.symmetric_difference(dead))
                counts = sorted(c for c in changed if c in state.assignments)
            rows = [state.assignments[count].to_dict() for count in counts]
            after = ExperimentsCursor(state.generation, state.changes, frozenset(dead))
        for row in rows:
            if row["count"] in dead:
                row["status"], row["reason"] = State.FAILED.value, dead[row["count"]]
        return ExperimentChanges(rows, after, full)

    def __repr__(self) -> str:
        return f"<Optimizer {self.id} {self.parsed_config.algorithm}>"


@dataclass(frozen=True)
class ExperimentsCursor:
    """Where a reader of `Optimizer.experiments_since` stopped: the state it read (its
    generation), the change number reached, and the experiments then presumed dead."""

    generation: int
    position: int
    dead: frozenset[int]


@dataclass(frozen=True)
class ExperimentChanges:
    """What `Optimizer.experiments_since` found: the changed experiments (in order of
    count), the cursor for the next call, and whether this is every experiment."""

    experiments: list[dict[str, Any]]
    cursor: ExperimentsCursor
    full: bool


def _milliseconds(seconds: float | None) -> int | None:
    return None if seconds is None else int(round(seconds * 1000))


_ID_PREFIX = "COMET_OPTIMIZER_ID="


def _bare_id(text: str) -> str:
    """An id as `get_id` gives it (``COMET_OPTIMIZER_ID=<id>``) or bare, bare."""
    text = text.strip()
    if text.startswith(_ID_PREFIX) and is_optimizer_id(text[len(_ID_PREFIX):].strip()):
        return text[len(_ID_PREFIX):].strip()
    return text


def _experiment_factory(experiment_class: Any) -> Callable[..., Any]:
    """``experiment_class`` as ``make(data, optimizer, kwargs)``, or a clear error."""
    if experiment_class in ("Experiment", "OfflineExperiment", None, Experiment):
        return lambda data, optimizer, kwargs: Experiment(
            optimizer_data=data, _optimizer=optimizer, **kwargs)
    if isinstance(experiment_class, type) and issubclass(experiment_class, Experiment):
        return lambda data, optimizer, kwargs: experiment_class(
            optimizer_data=data, _optimizer=optimizer, **kwargs)
    if callable(experiment_class):
        return lambda data, optimizer, kwargs: experiment_class(optimizer_data=data, **kwargs)
    raise OptimizerException(
        f"experiment_class must be \"Experiment\", \"OfflineExperiment\" or a callable, not "
        f"{experiment_class!r}")


def _release(held: Any, now: float, reason: str) -> dict[str, Any]:
    """The event that gives a reservation (a state's `Assignment`) back to the pool."""
    return {"type": "release", "count": held.count, "experiment": held.experiment_id,
            "time": now, "reason": reason}


_SECRET_KWARGS = {"api_key", "rest_api_key"}  # Comet scripts pass them; never recorded


def _jsonable(kwargs: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in kwargs.items():
        if key in _SECRET_KWARGS:
            continue
        if isinstance(value, (str, int, float, bool)) or value is None:
            out[key] = value
        else:
            out[key] = repr(value)
    return out


# -- how a process ends: normally, or not

_exit_status: list[Any] = []
_target_errors: list[BaseException] = []  # a multiprocessing child's target's exception


class _RecordingExit:
    """``sys.exit``, or the ``exit`` / ``quit`` builtins (scripts call ``exit(1)`` too),
    remembering the code it is given before it exits."""

    def __init__(self, original: Callable[..., Any]):
        self.__wrapped__ = original
        self.__doc__ = original.__doc__

    def __call__(self, code: Any = None) -> None:
        _exit_status.append(code)
        self.__wrapped__(code)

    def __repr__(self) -> str:
        return repr(self.__wrapped__)


def _install_exit_recorder() -> None:
    """Remember the code given to ``sys.exit``, ``exit`` or ``quit`` (atexit cannot see
    it otherwise). A bare ``raise SystemExit(3)`` is not seen: nothing runs between it
    and the interpreter's exit that could read its code."""
    import builtins

    if not hasattr(sys.exit, "__wrapped__"):
        sys.exit = _RecordingExit(sys.exit)
    for name in ("exit", "quit"):
        original = getattr(builtins, name, None)
        if original is not None and not hasattr(original, "__wrapped__"):
            setattr(builtins, name, _RecordingExit(original))


def _abnormal_exit() -> str | None:
    """Why this process is ending abnormally, or None for a normal end."""
    error = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
    if error is None and _target_errors:
        error = _target_errors[-1]
    if error is None:
        error = sys.exc_info()[1]  # a multiprocessing child whose target raised
        if isinstance(error, SystemExit):
            _exit_status.append(error.code)
            error = None
    if isinstance(error, KeyboardInterrupt):
        return f"worker process {os.getpid()} was interrupted (Ctrl-C)"
    if error is not None:
        return f"the process ended by an uncaught exception: {failure_reason(error)[7:]}"
    if _exit_status and _exit_status[-1] not in (None, 0):
        return f"the process exited with sys.exit({str(_exit_status[-1])[:60]})"
    return None


@atexit.register
def _end_open_experiments() -> None:
    """A script that ends normally ends its open experiments (completed or aborted).

    One that ends by an uncaught exception, Ctrl-C or a non-zero ``sys.exit`` did
    not finish them: they are failed (their partial metrics kept) and may be
    re-assigned. A process killed outright is failed by the liveness check.
    """
    reason = _abnormal_exit()
    for optimizer in list(_live_optimizers):
        try:
            optimizer._end_open_experiments(reason)
        except Exception as error:  # never turn an exit into a traceback
            _warning(f"could not end the open experiments of {optimizer.id}: {error}")


_locked_for_fork: list[WaitingLock] = []


def _before_fork() -> None:
    """No Optimizer is mid-decision when a fork copies it."""
    for optimizer in list(_live_optimizers):
        optimizer._lock.acquire()
        _locked_for_fork.append(optimizer._lock)


def _after_fork_in_parent() -> None:
    while _locked_for_fork:
        _locked_for_fork.pop().release()


def _after_fork_in_child() -> None:
    _locked_for_fork.clear()
    _holding_open.clear()  # the parent's open experiments are the parent's to end
    for optimizer in list(_live_optimizers):
        optimizer._own()
    if "multiprocessing" in sys.modules:  # its children leave by os._exit: no atexit
        import multiprocessing.util

        # A Process child clears the finalizers it inherited, then runs the after-fork
        # hooks: register ours from there, so its exit ends what it left open.
        multiprocessing.util.register_after_fork(_AfterFork, _end_at_multiprocessing_exit)


class _AfterFork:
    """A key for multiprocessing's after-fork registry (it holds keys weakly)."""


def _end_at_multiprocessing_exit(_: object) -> None:
    import multiprocessing
    import multiprocessing.util

    multiprocessing.util.Finalize(None, _end_open_experiments, exitpriority=10)
    # How the target ended, seen from inside: since Python 3.13 the child runs its
    # finalizers after the target's exception has been printed and cleared, so the
    # exit handler could no longer tell a crash from a normal end.
    process = multiprocessing.current_process()
    target = process.run

    def run_and_remember() -> None:
        try:
            target()
        except SystemExit as stop:
            _exit_status.append(stop.code)
            raise
        except BaseException as error:
            _target_errors.append(error)
            raise

    process.run = run_and_remember


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                    after_in_child=_after_fork_in_child)
_install_exit_recorder()
