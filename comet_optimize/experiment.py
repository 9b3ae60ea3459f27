"""The handle a training script works with: its parameters in, its metrics out.

Only the objective metric matters to the search (Comet's rule: the score is
the min, or max, over every value logged under exactly ``spec.metric``; our
``metricReduction`` may pick the last or mean value instead). Everything else
is kept as a small summary in the experiment's ``end`` event.

Every value is checked when it is logged (`comet_optimize.encoding`), so a
bad one fails at the line that logged it. Whatever is logged after the
experiment ended is recorded too, as an ``update``: nothing logged is dropped.

Example:
    >>> from comet_optimize import Optimizer
    >>> opt = Optimizer({"algorithm": "random", "spec": {"maxCombo": 2},
    ...                  "parameters": {"lr": {"type": "float", "min": 0.001, "max": 0.1,
    ...                                        "scalingType": "loguniform"}}},
    ...                 verbose=0, store=tmp_store)
    >>> with opt.next(project_name="demo") as experiment:
    ...     experiment.log_metric("loss", experiment.params["lr"] * 10, step=1)
    >>> opt.status()["completed"]
    1

Threads: an Experiment may be logged to from several threads; each call is
atomic. Processes: hand ``optimizer.next_data()`` to another process (even as
JSON) and build ``Experiment(optimizer_data=data)`` there.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
import threading
import uuid
from typing import Any, Protocol

from comet_optimize import encoding
from comet_optimize.errors import OptimizerException
from comet_optimize.state import State, encode_score

_MISSING = object()


class Search(Protocol):
    """What an Experiment needs from the search it reports to (an `Optimizer`)."""

    id: str

    def _experiment_opened(self, experiment: Experiment) -> None: ...

    def _experiment_ended(self, experiment: Experiment, failed: str | None) -> None: ...

    def _experiment_updated(self, experiment: Experiment) -> None: ...


class Experiment:
    """One assignment of a search (or, without ``optimizer_data``, a standalone record)."""

    def __init__(self, optimizer_data: dict[str, Any] | None = None,
                 project_name: str | None = None, _optimizer: Search | None = None,
                 **kwargs: Any):
        self.project_name = project_name
        self.kwargs = kwargs
        self.ended = False
        self.metrics: dict[str, dict[str, Any]] = {}
        self.logged_parameters: dict[str, Any] = {}
        self.others: dict[str, Any] = {}
        self._plain_parameters: dict[str, Any] = {}  # as recorded (JSON)
        self._objective_values: list[float] = []
        self._lock = threading.RLock()
        self._optimizer: Search | None = None
        self._warned_late = False
        self._revision = 0  # changes logged so far
        self._recorded_revision = 0  # of them, in the journal
        self._snapshot_revision = 0
        if optimizer_data is None:
            self.id = uuid.uuid4().hex
            self.params: dict[str, Any] = {}
            self.count = None
            self.data: dict[str, Any] = {}
            return
        data = _checked_data(optimizer_data)
        self.data = data
        self.id = data["experiment_key"]
        self.params = dict(data["parameters"])
        self.count = data["count"]
        self._optimizer = _optimizer or _find_optimizer(data)
        spec = self._optimizer.parsed_config.spec
        self.metric = spec.metric
        self.objective = spec.objective
        self.reduction = spec.metric_reduction
        self.others.update({
            "optimizer_id": data["optimizer_id"],
            "optimizer_pid": data["pid"],
            "optimizer_trial": data["trial"],
            "optimizer_count": data["count"],
            "optimizer_process": os.getpid(),
            "optimizer_metric": spec.metric,
            "optimizer_objective": spec.objective,
            "optimizer_name": self._optimizer.parsed_config.name,
            "optimizer_parameters": dict(self.params),
        })
        self._optimizer._experiment_opened(self)

    # -- reading parameters

    def get_parameter(self, name: str) -> Any:
        """A logged value if the script logged one under this name, else the suggested one."""
        value = self.logged_parameters.get(name, _MISSING)
        if value is _MISSING:
            value = self.params.get(name, _MISSING)
        if value is _MISSING:
            known = ", ".join(sorted(set(self.params) | set(self.logged_parameters)))
            raise KeyError(f"no parameter {name!r} in this experiment (known: {known})")
        return value

    def get_key(self) -> str:
        return self.id

    # -- logging

    def log_metric(self, name: str, value: Any, step: int | None = None,
                   epoch: int | None = None, include_context: bool = True,
                   timestamp: float | None = None) -> None:
        name = encoding.name(name, "metric")
        step = encoding.whole_number(step, f"metric {name!r}: step")
        epoch = encoding.whole_number(epoch, f"metric {name!r}: epoch")
        number = encoding.to_float(value)
        if number is None and not isinstance(value, str):
            raise OptimizerException(
                f"metric {name!r}: value {encoding.short(value)} is not a number")
        if number is not None and math.isinf(number) and not isinstance(value, float):
            print(f"COMET WARNING: metric {name!r}: value {encoding.short(value)} is too large "
                  f"for a float; recorded as {number}", file=sys.stderr, flush=True)
        if number is None:
            last = value
        elif isinstance(value, numbers.Integral) and math.isfinite(number):
            last = int(value)  # an integer stays an integer (exports show 4, not 4.0)
        else:
            last = encoding.plain(number, f"metric {name!r}")
        with self._lock:
            summary = self.metrics.setdefault(name, {"count": 0})
            summary["count"] += 1
            summary["last"] = last
            self._revision += 1
            if step is not None:
                summary["step"] = step
            if epoch is not None:
                summary["epoch"] = epoch
            if self._optimizer is not None and name == self.metric:
                if number is None:
                    print(f"COMET WARNING: metric {name!r} value {encoding.short(value)} is not "
                          f"a number; it does not count towards the score", file=sys.stderr)
                else:
                    self._objective_values.append(number)
        self._after_change()

    def log_metrics(self, metrics: dict[str, Any], step: int | None = None,
                    epoch: int | None = None, prefix: str | None = None) -> None:
        for name, value in dict(metrics).items():
            name = encoding.name(name, "metric")
            self.log_metric(f"{prefix}_{name}" if prefix else name, value, step, epoch)

    def log_parameter(self, name: str, value: Any, step: int | None = None) -> None:
        name = encoding.name(name, "parameter")
        plain = encoding.plain(value, f"parameter {name!r}")
        with self._lock:
            self.logged_parameters[name] = value
            self._plain_parameters[name] = plain
            self._revision += 1
        self._after_change()

    def log_parameters(self, parameters: dict[str, Any], prefix: str | None = None,
                       step: int | None = None) -> None:
        for name, value in dict(parameters).items():
            name = encoding.name(name, "parameter")
            self.log_parameter(f"{prefix}_{name}" if prefix else name, value)

    def log_other(self, key: str, value: Any) -> None:
        key = encoding.name(key, "other")
        plain = encoding.plain(value, f"other {key!r}")
        with self._lock:
            self.others[key] = plain
            self._revision += 1
        self._after_change()

    def log_others(self, others: dict[str, Any]) -> None:
        for key, value in dict(others).items():
            self.log_other(key, value)

    def _after_change(self) -> None:
        """A change after the end is recorded at once, as an update of the result."""
        if not self.ended or self._optimizer is None:
            return
        if self._revision == self._recorded_revision:
            return  # already in the journal (the end took it)
        if not self._warned_late:
            self._warned_late = True
            print(f"COMET WARNING: experiment #{self.count} had already ended; what is logged "
                  f"to it now is recorded as an update of its result", file=sys.stderr,
                  flush=True)
        self._optimizer._experiment_updated(self)
        self._recorded_revision = max(self._recorded_revision, self._snapshot_revision)

    # -- ending

    def score(self) -> float | None:
        """The experiment's result under the spec's reduction; None when never logged."""
        with self._lock:
            values = list(self._objective_values)
        if not values:
            return None
        if self.reduction == "last":
            return values[-1]
        numbers = [v for v in values if not math.isnan(v)]
        if not numbers:
            return math.nan
        if self.reduction == "mean":
            return sum(numbers) / len(numbers)
        return max(numbers) if self.objective == "maximize" else min(numbers)

    def result_event(self, kind: str, now: float, failed: str | None = None) -> dict[str, Any]:
        """The journal event that records this experiment's outcome (``end`` or ``update``).

        Pure: builds the event without changing the experiment, so a write that
        fails leaves everything as it was.
        """
        score = self.score()
        if failed is not None:
            status, reason = State.FAILED, failed
        elif score is None:
            status, reason = State.ABORTED, None
        else:
            status, reason = State.COMPLETED, None
        if status is State.FAILED:
            score = None  # partial metrics stay in "metrics", for inspection only
        event: dict[str, Any] = {"type": kind, "count": self.count, "status": status.value,
                                 "score": encode_score(score), "time": now}
        if reason:
            event["reason"] = reason
        with self._lock:
            self._snapshot_revision = self._revision
            if self.metrics:
                event["metrics"] = {k: dict(v) for k, v in self.metrics.items()}
            if self._plain_parameters:
                event["logged_parameters"] = dict(self._plain_parameters)
            user_others = {k: v for k, v in self.others.items()
                           if not k.startswith("optimizer_")}
        if user_others:  # the optimizer_* ones are derived from the assignment itself
            event["others"] = user_others
        return event

    @property
    def logged_anything(self) -> bool:
        with self._lock:
            return bool(self.metrics or self._plain_parameters or any(
                not key.startswith("optimizer_") for key in self.others))

    def _mark_ended(self, status: State | None) -> None:
        """Called by the search once the end is written (None: nothing needed writing)."""
        self._recorded_revision = self._snapshot_revision
        self.ended = True
        if status is State.COMPLETED:
            self.others["optimizer_metric_value"] = self.score()
        elif status is State.ABORTED:
            logged = ", ".join(sorted(self.metrics)) or "nothing"
            print(f"COMET WARNING: experiment #{self.count} ended without logging the metric "
                  f"{self.metric!r} (it logged: {logged}); recorded as aborted",
                  file=sys.stderr, flush=True)

    def end(self) -> None:
        """Record the result now; safe to call twice."""
        if self.ended:
            return
        if self._optimizer is None:
            self.ended = True
            return
        self._optimizer._experiment_ended(self, None)
        self._record_what_came_during_the_end()

    def _record_what_came_during_the_end(self) -> None:
        """Another thread may log while the end is being written: record that too."""
        if self.ended and self._optimizer is not None and \
                self._revision != self._recorded_revision:
            self._optimizer._experiment_updated(self)
            self._recorded_revision = self._snapshot_revision

    def _fail(self, reason: str) -> None:
        """End as failed (the script raised): partial metrics are kept for inspection."""
        if not self.ended and self._optimizer is not None:
            self._optimizer._experiment_ended(self, reason)
            self._record_what_came_during_the_end()

    def __enter__(self) -> Experiment:
        return self

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        if kind is None:
            self.end()
        else:
            self._fail(failure_reason(error))

    def __repr__(self) -> str:
        return f"<Experiment #{self.count} {self.params}>"


def failure_reason(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    text = text.splitlines()[0] if text else type(error).__name__
    return f"raised {text[:200]}"


_DATA_KEYS = ("parameters", "pid", "trial", "count")


def _checked_data(data: Any) -> dict[str, Any]:
    """``optimizer_data`` in either shape (Comet's, or ours) as one dict, or a clear error.

    Comet's ``id`` is the optimizer id; our experiment key and store travel under
    keys of their own. The dict may have made a JSON round trip.
    """
    if not isinstance(data, dict):
        raise OptimizerException(
            f"optimizer_data must be the dict that next_data() returned, not "
            f"{type(data).__name__}")
    missing = [key for key in _DATA_KEYS if key not in data]
    optimizer_id = data.get("optimizer_id") or data.get("id")
    if optimizer_id is None:
        missing.insert(0, "id")
    if missing:
        raise OptimizerException(f"optimizer_data lacks {', '.join(map(repr, missing))} "
                                 f"(pass the dict that next_data() returned)")
    if not isinstance(data["parameters"], dict) or not isinstance(data["count"], int):
        raise OptimizerException("optimizer_data is damaged: 'parameters' must be a dict and "
                                 "'count' a whole number")
    return {**data, "optimizer_id": str(optimizer_id),
            "experiment_key": data.get("experiment_key") or uuid.uuid4().hex}


def _find_optimizer(data: dict[str, Any]) -> Search:
    """An Optimizer of this process on the same search, or a fresh attachment.

    Any Optimizer on the search can record the result: they all replay one journal.
    """
    from comet_optimize.optimizer import Optimizer, live_optimizers

    store = data.get("store")
    for optimizer in live_optimizers():
        if optimizer.id == data["optimizer_id"] and (
                store is None or optimizer.store.location == store):
            return optimizer
    return Optimizer(data["optimizer_id"], verbose=0, store=store)
