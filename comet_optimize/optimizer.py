"""The Optimizer: Comet's API over the assignment life cycle.

It decides *when* to ask the algorithm and *what to record*: the budget,
``trials`` repeats, uniqueness, re-assignment of failed and aborted
experiments, and the liveness of workers. The algorithm decides *which*
parameters; the store decides how records survive.

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
import os
import secrets
import sys
import time
import uuid
import warnings
import weakref
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np

from comet_optimize import __version__
from comet_optimize import config as config_module
from comet_optimize.algorithms import make_algorithm
from comet_optimize.errors import InvalidOptimizerParameters, OptimizerException
from comet_optimize.liveness import is_dead, start_heartbeat, this_process
from comet_optimize.space import Space, parameter_set_id
from comet_optimize.state import SearchState, State
from comet_optimize.store import is_optimizer_id, new_optimizer_id, open_store

_live_optimizers: weakref.WeakSet[Optimizer] = weakref.WeakSet()


def _info(message: str) -> None:
    print(f"COMET INFO: {message}", file=sys.stderr, flush=True)


def _warning(message: str) -> None:
    print(f"COMET WARNING: {message}", file=sys.stderr, flush=True)


class Optimizer:
    """A hyperparameter search, created from a config or attached to by id.

    ``config`` is a dict, a path to a config file, or an optimizer id; when
    ``COMET_OPTIMIZER_ID`` is set, that search is attached to instead.
    """

    def __init__(self, config: dict | str | os.PathLike | None = None,
                 trials: int | None = None, verbose: int = 1, store: str | None = None,
                 **experiment_kwargs: Any):
        self.verbose = verbose
        self.experiment_kwargs = experiment_kwargs
        self._store = open_store(store)
        if trials is not None:
            trials = config_module.validate_trials(trials, where="Optimizer(trials=...)")
        env_id = os.environ.get("COMET_OPTIMIZER_ID")
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
        elif isinstance(config, dict):
            self._create(config, trials, source=None)
        elif isinstance(config, (str, os.PathLike)):
            text = os.fspath(config)
            if os.path.isfile(text):
                self._create(config_module.read_config_file(text), trials, source=text)
            elif is_optimizer_id(text.strip()):
                self._attach(text.strip(), trials)
            elif os.path.exists(text):
                raise OptimizerException(f"{text}: not a config file")
            else:
                raise OptimizerException(
                    f"{text!r} is neither a config file nor an optimizer id "
                    f"(32 hex characters)"
                )
        else:
            raise OptimizerException(
                f"Optimizer config must be a dict, a file path or an id "
                f"(got {type(config).__name__})"
            )
        if verbose:
            _info(f"COMET_OPTIMIZER_ID={self.id}")
        self._open_experiment = None
        _live_optimizers.add(self)

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
        self.id = new_optimizer_id()
        self._store.create(self.id, parsed.to_dict())
        self._setup(parsed)
        with self._journal.locked() as new_events:
            self._apply(new_events)
            self._append([{"type": "created", "time": time.time(), "version": __version__}])

    def _attach(self, optimizer_id: str, trials: int | None) -> None:
        if not is_optimizer_id(optimizer_id):
            raise OptimizerException(
                f"invalid optimizer id {optimizer_id!r} (expected 32 lowercase hex characters)"
            )
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
        self._setup(parsed)
        self._apply(self._journal.read_new())

    def _setup(self, parsed: config_module.OptimizerConfig) -> None:
        self.parsed_config = parsed
        self.config = parsed.to_dict()
        self.space = Space.from_config(parsed)
        self.algorithm = make_algorithm(parsed, self.space)
        self.state = SearchState(self.space, parsed.spec.objective == "maximize", parsed.trials)
        self._journal = self._store.journal(self.id)
        self._heartbeats = self._store.heartbeat_folder(self.id)

    def _apply(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            self.state.apply(event)

    def _append(self, events: list[dict[str, Any]]) -> None:
        self._journal.append(events)
        self._apply(events)

    # -- identity and budget

    def get_id(self) -> str:
        return self.id

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
        if spec.max_combo == 0:
            if self.parsed_config.algorithm == "grid":
                return size
            wanted = 10 * len(self.space.dimensions)
            return wanted if size is None else min(wanted, size)
        return spec.max_combo if size is None else min(spec.max_combo, size)

    @property
    def budget(self) -> int | None:
        """The most experiments this search can assign (Comet's maxCombo x trials x retries)."""
        combos = self.max_combo
        if combos is None:
            return None
        spec = self.parsed_config.spec
        return combos * self.parsed_config.trials * (spec.retry_assign_limit + 1)

    # -- the life cycle

    def _fail_dead_workers(self, now: float) -> list[dict[str, Any]]:
        events = []
        for assignment in list(self.state.running.values()):
            if is_dead(assignment.host, assignment.process, assignment.process_start,
                       self._heartbeats, assignment.start_time):
                events.append({
                    "type": "end", "count": assignment.count, "status": State.FAILED.value,
                    "score": None, "time": now,
                    "reason": f"worker process {assignment.process} on {assignment.host} died",
                })
        return events

    def _choose(self, now: float) -> tuple[str, int, int, dict[str, Any]] | None:
        """(pid, trial, retry, params) of the next assignment, or None when nothing is left."""
        state = self.state
        spec = self.parsed_config.spec
        key = state.next_retry(spec.retry_assign_limit)
        if key is not None:
            pid, trial = key
            return pid, trial, len(state.attempts[key]), state.parameters_of(pid)
        key = state.next_trial()
        if key is not None:
            return key[0], key[1], 0, state.parameters_of(key[0])
        max_combo = self.max_combo
        if state.exhausted or (max_combo is not None and len(state.combos) >= max_combo):
            return None
        rng = np.random.default_rng([spec.seed, state.assigned])
        params = self.algorithm.suggest(state.history(), rng, state.combos)
        if params is None:
            self._record([{"type": "exhausted", "time": now}])
            return None
        return parameter_set_id(params), 1, 0, params

    def _record(self, events: list[dict[str, Any]]) -> None:
        """Fold events into the state now; `_assign` writes them in one append."""
        self._apply(events)
        self._pending_events.extend(events)

    def _assign(self, extra: dict[str, Any]) -> dict[str, Any] | None:
        """End the previous experiment and hand out the next one, in one locked append."""
        previous = self._open_experiment
        self._open_experiment = None
        host, process, process_start = this_process()
        start_heartbeat(self._heartbeats)
        with self._journal.locked() as new_events:
            self._apply(new_events)
            now = time.time()
            self._pending_events = []
            if previous is not None:
                self._record(previous._end_events(now))
            self._record(self._fail_dead_workers(now))
            choice = self._choose(now)
            if choice is not None:
                pid, trial, retry, params = choice
                assign = {
                    "type": "assign", "count": self.state.assigned + 1,
                    "experiment": uuid.uuid4().hex, "pid": pid, "trial": trial,
                    "retry": retry, "params": params, "host": host, "process": process,
                    "process_start": process_start, "time": now,
                }
                if extra:
                    assign["extra"] = extra
                self._record([assign])
            self._journal.append(self._pending_events)
            self._pending_events = []
        if choice is None:
            return None
        return {
            "id": assign["experiment"], "parameters": params, "pid": pid, "trial": trial,
            "count": assign["count"], "retry": retry, "optimizer_id": self.id,
            "store": self._store.root,
        }

    def _finish(self, experiment) -> None:
        """Record the end of one experiment on its own (Experiment.end outside the loop)."""
        if self._open_experiment is experiment:
            self._open_experiment = None
        with self._journal.locked() as new_events:
            self._apply(new_events)
            self._append(experiment._end_events(time.time()))

    def next_data(self) -> dict[str, Any] | None:
        """The next assignment as a dict (``parameters``, ``id``, ``pid``, ``trial``, ``count``)."""
        from comet_optimize.experiment import Experiment

        data = self._assign({})
        if data is None:
            return None
        self._open_experiment = Experiment(optimizer_data=data, _optimizer=self)
        return data

    def next(self, **experiment_kwargs: Any):
        """The next Experiment, or None when the search has nothing left to hand out."""
        from comet_optimize.experiment import Experiment

        kwargs = {**self.experiment_kwargs, **experiment_kwargs}
        data = self._assign(_jsonable(kwargs))
        if data is None:
            return None
        experiment = Experiment(optimizer_data=data, _optimizer=self, **kwargs)
        self._open_experiment = experiment
        return experiment

    def get_parameters(self) -> Iterator[dict[str, Any]]:
        while True:
            data = self.next_data()
            if data is None:
                return
            yield data

    def get_experiments(self, **experiment_kwargs: Any):
        """Experiments until the budget is spent; unlike Comet, errors are raised, not hidden."""
        while True:
            experiment = self.next(**experiment_kwargs)
            if experiment is None:
                return
            yield experiment

    def end(self, experiment) -> None:
        experiment.end()

    def _end_open_experiment(self, failed_reason: str | None = None) -> None:
        """End the open experiment at exit; ``failed_reason`` records it as failed instead."""
        experiment = self._open_experiment
        if experiment is None or experiment.ended:
            return
        if failed_reason is None:
            experiment.end()
            return
        experiment.ended = True
        self._open_experiment = None
        with self._journal.locked() as new_events:
            self._apply(new_events)
            self._append([{"type": "end", "count": experiment.count,
                           "status": State.FAILED.value, "score": None,
                           "time": time.time(), "reason": failed_reason}])

    # -- reporting

    def refresh(self) -> None:
        """Catch up with the journal and mark workers that died as failed."""
        with self._journal.locked() as new_events:
            self._apply(new_events)
            self._append(self._fail_dead_workers(time.time()))

    def is_complete(self) -> bool:
        state = self.state
        if state.running:
            return False
        spec = self.parsed_config.spec
        if state.next_retry(spec.retry_assign_limit) or state.next_trial():
            return False
        return state.exhausted or (
            self.max_combo is not None and len(state.combos) >= self.max_combo)

    def status(self) -> dict[str, Any]:
        """Comet's status keys, plus counts and the best result so far."""
        self.refresh()
        state = self.state
        complete = self.is_complete()
        best = state.best
        ends = [a.end_time for a in state.assignments.values() if a.end_time]
        parsed = self.parsed_config
        return {
            "algorithm": parsed.algorithm,
            "configSpaceSize": self.config_space_size,
            "endTime": max(ends) if complete and ends else None,
            "id": self.id,
            "lastUpdateTime": state.last_update,
            "maxCombo": self.max_combo,
            "budget": self.budget,
            "name": parsed.name,
            "parameters": self.config["parameters"],
            "spec": self.config["spec"],
            "startTime": state.created,
            "status": "completed" if complete else "running",
            "suggestion_count": state.assigned,
            "trials": parsed.trials,
            "version": __version__,
            "store": self._store.root,
            "assigned": state.assigned,
            "running": state.counts[State.RUNNING],
            "completed": state.counts[State.COMPLETED],
            "aborted": state.counts[State.ABORTED],
            "failed": state.counts[State.FAILED],
            "best": best.to_dict() if best is not None else None,
        }

    def experiments(self) -> list[dict[str, Any]]:
        """Every assignment of this search, in order, as plain dicts."""
        return [a.to_dict() for a in self.state.assignments.values()]

    def __repr__(self) -> str:
        return f"<Optimizer {self.id} {self.parsed_config.algorithm}>"


def _jsonable(kwargs: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in kwargs.items():
        if isinstance(value, (str, int, float, bool)) or value is None:
            out[key] = value
        else:
            out[key] = repr(value)
    return out


@atexit.register
def _end_open_experiments() -> None:
    """A script that exits normally ends its open experiment (completed or aborted).

    One stopped by Ctrl-C (an uncaught KeyboardInterrupt, e.g. forwarded by
    ``comet optimize``) did not finish it: the experiment is failed, as if killed.
    """
    interrupted = isinstance(getattr(sys, "last_value", None), KeyboardInterrupt)
    reason = f"worker process {os.getpid()} was interrupted (Ctrl-C)" if interrupted else None
    for optimizer in list(_live_optimizers):
        try:
            optimizer._end_open_experiment(reason)
        except Exception as error:  # never turn a clean exit into a traceback
            print(f"COMET WARNING: could not end the open experiment: {error}",
                  file=sys.stderr)

