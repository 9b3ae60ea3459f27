"""What the report and the dashboard draw: one search turned into compact, plain JSON data.

The browser code (``static/views.js``) builds every plot from this one
payload, so the one-file report and the live dashboard show exactly the same
views. Experiments travel as rows of numbers (not dicts with repeated keys)
so that 20,000 of them stay a few megabytes; `Tabulator` keeps its worker and
parameter-set numbering stable, so the dashboard can send only rows that
changed and the page merges them in.

Nothing here imports plotly or scikit-learn: the payload is plain data.
"""

from __future__ import annotations

import math
import time
from typing import Any

from comet_optimize.cli.report import format_score

SCHEMA = 1
STATES = ("completed", "aborted", "failed", "running")
BAD_STATES = ("failed", "aborted")
ROW_FIELDS = ("count", "trial", "set", "state", "score", "start", "end", "worker")
LOG_SCALINGS = ("loguniform", "lognormal")
MAX_FAILURES = 200


_EXACT = 2.0**53


def _round(value: Any) -> float | None:
    """A number with 7 significant digits (enough to plot, a third of the bytes);
    None for a missing or non-finite one (JSON has no NaN)."""
    if value.__class__ is float:  # the common case, first: a report rounds 250,000 of them
        if value - value != 0.0:  # inf or nan
            return None
        rounded = float(f"{value:.7g}")
        return int(rounded) if rounded.is_integer() and -_EXACT < rounded < _EXACT else rounded
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number):
        return None
    rounded = float(f"{number:.7g}")
    return int(rounded) if rounded.is_integer() and abs(rounded) < 2**53 else rounded


def parameter_axes(parameters: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One axis description per parameter, in the config's order.

    ``kind`` is ``categorical`` for categorical and discrete parameters (their
    values are shown as categories, in the declared order) and ``numeric``
    otherwise; ``log`` is true for log-scaled numeric parameters.
    """
    axes = []
    for name, definition in parameters.items():
        declared = definition.get("type", "double")
        if declared in ("categorical", "discrete"):
            axes.append({"name": name, "type": declared, "kind": "categorical",
                         "log": False, "values": list(definition.get("values", []))})
        else:
            axes.append({"name": name, "type": declared, "kind": "numeric",
                         "log": definition.get("scalingType") in LOG_SCALINGS,
                         "min": definition.get("min"), "max": definition.get("max")})
    return axes


def worker_label(host: str, process: int) -> str:
    return f"{host} pid {process}"


class Tabulator:
    """Turns experiment dicts into rows, numbering workers and parameter sets stably.

    A row is ``[count, trial, set, state, score, start, end, worker, *params]``:
    ``set`` numbers the parameter set (its ``pid``) in order of first
    appearance, ``state`` indexes `STATES`, times are seconds since the
    search started, ``worker`` indexes `workers`, and a categorical
    parameter is the index of its value in the declared values.
    """

    def __init__(self, axes: list[dict[str, Any]], origin: float):
        self.axes = axes
        self.origin = origin
        self.workers: list[dict[str, Any]] = []
        self._worker_index: dict[tuple[str, int], int] = {}
        self._set_index: dict[str, int] = {}
        self._category_index = [
            {_category_key(v): i for i, v in enumerate(axis["values"])}
            if axis["kind"] == "categorical" else None for axis in axes]
        self._columns = [(axis["name"], categories)
                         for axis, categories in zip(axes, self._category_index)]

    def _worker(self, host: str, process: int) -> int:
        key = (host, process)
        index = self._worker_index.get(key)
        if index is None:
            index = self._worker_index[key] = len(self.workers)
            self.workers.append({"host": host, "process": process,
                                 "label": worker_label(host, process)})
        return index

    def _time(self, value: float | None) -> float | None:
        if value is None:
            return None
        return round(value - self.origin, 3)

    def row(self, experiment: dict[str, Any]) -> list[Any]:
        pid = experiment.get("pid", "")
        set_index = self._set_index.setdefault(pid, len(self._set_index))
        state = experiment.get("status", "running")
        params = experiment.get("parameters") or {}
        row = [experiment["count"], experiment.get("trial", 1), set_index,
               STATES.index(state) if state in STATES else 3,
               _round(experiment.get("score")) if state == "completed" else None,
               self._time(experiment.get("startTime")), self._time(experiment.get("endTime")),
               self._worker(experiment.get("host", ""), experiment.get("process", 0))]
        for name, categories in self._columns:
            value = params.get(name)
            if categories is None:
                row.append(_round(value))
            else:
                row.append(categories.get(_category_key(value)))
        return row


def _category_key(value: Any) -> Any:
    """Discrete values compare as numbers (1 and 1.0 are one category)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value


def failures(experiments: list[dict[str, Any]], metric: str = "loss",
             total: int | None = None) -> dict[str, Any]:
    """The failed and aborted experiments with their reasons, newest first (at most 200).

    ``total`` is how many there are in all, when ``experiments`` holds only the latest.
    """
    bad = [e for e in experiments if e.get("status") in BAD_STATES]
    listed = [{"count": e["count"], "state": e["status"], "reason": _reason(e, metric),
               "worker": worker_label(e.get("host", ""), e.get("process", 0))}
              for e in reversed(bad[-MAX_FAILURES:])]
    return {"total": len(bad) if total is None else total, "items": listed}


def _reason(experiment: dict[str, Any], metric: str) -> str:
    """The stored reason; for an abort without one, what was (not) logged."""
    if experiment.get("reason"):
        return str(experiment["reason"])
    if experiment.get("status") == "aborted":
        logged = sorted(experiment.get("metrics") or {})
        if metric in logged:  # logged, but never a number (None, a text)
            return f"logged the metric {metric!r} only as values that are not numbers"
        return (f"ended without logging the metric {metric!r}"
                + (f" (it logged: {', '.join(logged)})" if logged else " (it logged no metric)"))
    return ""


def header(status: dict[str, Any]) -> dict[str, Any]:
    """The search's identity, counts and best result, as ``status()`` gives them."""
    spec = status.get("spec") or {}
    best = status.get("best")
    keys = ("id", "algorithm", "status", "budget", "configSpaceSize",
            "trials", "assigned", "running", "completed", "aborted", "failed", "store")
    out = {key: status.get(key) for key in keys}
    name = status.get("name")  # status() shows the id when the search has no name
    out["name"] = None if name == status.get("id") else name
    # status() gives Comet's times in ms and the effective limit under keys of ours
    out.update({"maxCombo": status.get("max_combo"), "startTime": status.get("started"),
                "lastUpdateTime": status.get("updated"), "endTime": status.get("ended")})
    out["store"] = str(out["store"]) if out["store"] is not None else None
    out.update({"metric": spec.get("metric", "loss"),
                "objective": spec.get("objective", "minimize"),
                "retryAssignLimit": spec.get("retryAssignLimit", 0)})
    if best:
        score = best.get("score")
        out["best"] = {"count": best["count"], "trial": best.get("trial"),
                       "score": score if score is None or math.isfinite(score) else repr(score),
                       "text": format_score(score),
                       "parameters": best.get("parameters", {})}
    else:
        out["best"] = None
    return out


def assemble(header_data: dict[str, Any], tabulator: Tabulator, rows: list[list[Any]],
             failure_list: dict[str, Any], importance: dict[str, Any] | None) -> dict[str, Any]:
    """The payload from its parts (the dashboard keeps the parts between refreshes)."""
    return {
        "schema": SCHEMA,
        "generated": time.time(),
        "origin": tabulator.origin,
        "header": header_data,
        "parameters": tabulator.axes,
        "fields": list(ROW_FIELDS),
        "states": list(STATES),
        "rows": rows,
        "workers": tabulator.workers,
        "failures": failure_list,
        "importance": importance,
    }


def tabulator_for(status: dict[str, Any], experiments: list[dict[str, Any]]) -> Tabulator:
    """A tabulator whose times count from the search's start."""
    axes = parameter_axes(status.get("parameters") or {})
    origin = status.get("started") or min(
        (e["startTime"] for e in experiments if e.get("startTime")), default=time.time())
    return Tabulator(axes, origin)


def build(status: dict[str, Any], experiments: list[dict[str, Any]],
          importance: dict[str, Any] | None = None) -> tuple[dict[str, Any], Tabulator]:
    """The whole payload of one search (and the tabulator that numbered it)."""
    tabulator = tabulator_for(status, experiments)
    rows = [tabulator.row(e) for e in experiments]
    head = header(status)
    payload = assemble(head, tabulator, rows, failures(experiments, head["metric"]), importance)
    return payload, tabulator
