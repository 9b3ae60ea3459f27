"""The handle a training script works with: its parameters in, its metrics out.

Only the objective metric matters to the search (Comet's rule: the score is
the min, or max, over every value logged under exactly ``spec.metric``; our
``metricReduction`` may pick the last or mean value instead). Everything else
is kept as a small summary in the experiment's ``end`` event.

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
"""

from __future__ import annotations

import math
import os
import sys
import uuid
from typing import Any

from comet_optimize.errors import OptimizerException
from comet_optimize.state import State, encode_score

_MISSING = object()


class Experiment:
    """One assignment of a search (or, without ``optimizer_data``, a standalone record)."""

    def __init__(self, optimizer_data: dict[str, Any] | None = None,
                 project_name: str | None = None, _optimizer=None,
                 **kwargs: Any):
        self.project_name = project_name
        self.kwargs = kwargs
        self.ended = False
        self.metrics: dict[str, dict[str, Any]] = {}
        self.logged_parameters: dict[str, Any] = {}
        self.others: dict[str, Any] = {}
        self._objective_values: list[float] = []
        self._optimizer = None
        if optimizer_data is None:
            self.id = uuid.uuid4().hex
            self.params: dict[str, Any] = {}
            self.count = None
            return
        self.data = optimizer_data
        self.id = optimizer_data["id"]
        self.params = dict(optimizer_data["parameters"])
        self.count = optimizer_data["count"]
        self._optimizer = _optimizer or _find_optimizer(optimizer_data)
        if _optimizer is None:  # built by the user from get_parameters() data
            open_one = self._optimizer._open_experiment
            if open_one is None or open_one.count == self.count:
                self._optimizer._open_experiment = self
        spec = self._optimizer.parsed_config.spec
        self.metric = spec.metric
        self.objective = spec.objective
        self.reduction = spec.metric_reduction
        self.others.update({
            "optimizer_id": optimizer_data["optimizer_id"],
            "optimizer_pid": optimizer_data["pid"],
            "optimizer_trial": optimizer_data["trial"],
            "optimizer_count": optimizer_data["count"],
            "optimizer_process": os.getpid(),
            "optimizer_metric": spec.metric,
            "optimizer_objective": spec.objective,
            "optimizer_name": self._optimizer.parsed_config.name,
            "optimizer_parameters": dict(self.params),
        })

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
                   epoch: int | None = None) -> None:
        summary = self.metrics.setdefault(name, {"count": 0})
        summary["count"] += 1
        summary["last"] = _plain(value)
        if step is not None:
            summary["step"] = step
        if epoch is not None:
            summary["epoch"] = epoch
        if self._optimizer is not None and name == self.metric:
            try:
                self._objective_values.append(float(value))
            except (TypeError, ValueError):
                print(f"COMET WARNING: metric {name!r} value {value!r} is not a number; "
                      f"it does not count towards the score", file=sys.stderr)

    def log_metrics(self, metrics: dict[str, Any], step: int | None = None,
                    epoch: int | None = None, prefix: str | None = None) -> None:
        for name, value in metrics.items():
            self.log_metric(f"{prefix}_{name}" if prefix else name, value, step, epoch)

    def log_parameter(self, name: str, value: Any, step: int | None = None) -> None:
        self.logged_parameters[name] = value

    def log_parameters(self, parameters: dict[str, Any], prefix: str | None = None) -> None:
        for name, value in parameters.items():
            self.log_parameter(f"{prefix}_{name}" if prefix else name, value)

    def log_other(self, key: str, value: Any) -> None:
        self.others[key] = value

    def log_others(self, others: dict[str, Any]) -> None:
        self.others.update(others)

    # -- ending

    def score(self) -> float | None:
        """The experiment's result under the spec's reduction; None when never logged."""
        values = self._objective_values
        if not values:
            return None
        if self.reduction == "last":
            return values[-1]
        finite = [v for v in values if math.isfinite(v)]
        if not finite:
            return math.nan
        if self.reduction == "mean":
            return sum(finite) / len(finite)
        return max(finite) if self.objective == "maximize" else min(finite)

    def _end_events(self, now: float) -> list[dict[str, Any]]:
        """The journal event that closes this experiment (empty if already closed)."""
        if self.ended or self._optimizer is None:
            return []
        self.ended = True
        score = self.score()
        if score is None:
            state = State.ABORTED
            logged = ", ".join(sorted(self.metrics)) or "nothing"
            print(f"COMET WARNING: experiment #{self.count} ended without logging the metric "
                  f"{self.metric!r} (it logged: {logged}); recorded as aborted",
                  file=sys.stderr, flush=True)
        else:
            state = State.COMPLETED
            self.others["optimizer_metric_value"] = score
        event: dict[str, Any] = {"type": "end", "count": self.count, "status": state.value,
                                 "score": encode_score(score), "time": now}
        if self.metrics:
            event["metrics"] = dict(self.metrics)
        if self.logged_parameters:
            event["logged_parameters"] = _plain(self.logged_parameters)
        user_others = {k: v for k, v in self.others.items() if not k.startswith("optimizer_")}
        if user_others:  # the optimizer_* ones are derived from the assignment itself
            event["others"] = _plain(user_others)
        return [event]

    def end(self) -> None:
        """Record the result now; safe to call twice."""
        if self.ended:
            return
        if self._optimizer is None:
            self.ended = True
            return
        self._optimizer._finish(self)

    def __enter__(self) -> Experiment:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.end()

    def __repr__(self) -> str:
        return f"<Experiment #{self.count} {self.params}>"


def _plain(value: Any) -> Any:
    """Something json.dumps accepts: numbers, strings, lists, dicts; repr for the rest."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    try:
        return _plain(float(value))  # numpy scalars, 0-d tensors
    except (TypeError, ValueError):
        return repr(value)


def _find_optimizer(data: dict[str, Any]):
    """The Optimizer of this process that handed ``data`` out, or a fresh attachment."""
    from comet_optimize.optimizer import Optimizer, _live_optimizers

    for optimizer in list(_live_optimizers):
        if optimizer.id == data["optimizer_id"] and optimizer.store.root == data.get("store"):
            return optimizer
    try:
        return Optimizer(data["optimizer_id"], verbose=0, store=data.get("store"))
    except KeyError:
        raise OptimizerException("optimizer_data lacks 'optimizer_id'") from None
