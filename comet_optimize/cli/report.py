"""What ``comet optimize status``, ``list``, ``export`` and the launcher's summary show.

Every function takes plain data (an optimizer's ``status()`` dict and its
``experiments()`` list) and returns plain data or text, so the same numbers
appear in the table, in ``--json`` and in the final summary, and tests can
check them without a terminal.
"""

from __future__ import annotations

import csv
import io
import math
import re
import time
from typing import Any

TOP_N = 10


def format_score(score: float | None) -> str:
    if score is None:
        return "-"
    if isinstance(score, float) and not math.isfinite(score):
        return repr(score)
    return f"{score:.6g}"


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def format_params(params: dict[str, Any]) -> str:
    return ", ".join(f"{name}={format_value(value)}" for name, value in params.items())


def format_duration(seconds: float) -> str:
    """``12.3 s`` under a minute, else ``h:mm:ss`` (what people read at a glance)."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def format_time(timestamp: float | None) -> str:
    if not timestamp:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


# Control characters (C0, DEL, C1) and the bidirectional overrides: what a name, tag or
# host read from a shared store could use to rewrite a terminal or fake a line.
_UNSHOWABLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def shown(text: str) -> str:
    """Text as a terminal table shows it: every control character written as an escape."""
    return _UNSHOWABLE.sub(lambda match: repr(match.group())[1:-1], text)


def table(headers: list[str], rows: list[list[str]], indent: str = "  ") -> str:
    """Left-aligned columns separated by two spaces; no trailing blanks."""
    rows = [[shown(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row)]
    lines = []
    for row in [headers, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)]
        lines.append((indent + "  ".join(cells)).rstrip())
    return "\n".join(lines)


def key_values(pairs: list[tuple[str, str]], indent: str = "  ") -> str:
    """``name   value`` lines with the values aligned."""
    width = max(len(name) for name, _ in pairs)
    return "\n".join(f"{indent}{name.ljust(width)}  {shown(value)}" for name, value in pairs)


def parameter_names(status: dict[str, Any], experiments: list[dict[str, Any]]) -> list[str]:
    """Parameter names in the order the experiments carry them (the config's order)."""
    names: dict[str, None] = {}
    for experiment in experiments:
        names.update(dict.fromkeys(experiment["parameters"]))
    names.update(dict.fromkeys(status["parameters"]))
    return list(names)


def _sort_key(maximize: bool):
    def key(experiment: dict[str, Any]) -> tuple[int, float]:
        score = experiment.get("score")
        if score is None or not math.isfinite(score):
            return (1, 0.0)
        return (0, -score if maximize else score)

    return key


def top_experiments(status: dict[str, Any], experiments: list[dict[str, Any]],
                    n: int = TOP_N) -> list[dict[str, Any]]:
    """The ``n`` best completed experiments, best first (NaN/inf last, as the worst)."""
    maximize = status["spec"].get("objective") == "maximize"
    completed = [e for e in experiments if e["status"] == "completed"]
    return sorted(completed, key=_sort_key(maximize))[:n]


def running_workers(experiments: list[dict[str, Any]], metric: str | None = None
                    ) -> list[dict[str, Any]]:
    """Who holds what right now: one entry per (host, process) with its assignments, and
    the objective ``metric`` each has reported so far (its progress: `comet_optimize.progress`)."""
    workers: dict[tuple[str, int], dict[str, Any]] = {}
    for experiment in experiments:
        if experiment["status"] != "running":
            continue
        key = (experiment["host"], experiment["process"])
        worker = workers.setdefault(key, {"host": key[0], "process": key[1], "counts": [],
                                          "since": experiment["startTime"], "latest": {}})
        worker["counts"].append(experiment["count"])
        worker["since"] = min(worker["since"], experiment["startTime"])
        summary = (experiment.get("metrics") or {}).get(metric)
        if isinstance(summary, dict) and "last" in summary:
            worker["latest"][experiment["count"]] = summary
    return list(workers.values())


def latest_text(metric: str, summary: dict[str, Any] | None) -> str:
    """``loss 0.312 (epoch 12)``: a running experiment's objective so far, or ""."""
    if not summary:
        return ""
    where = next((f" ({key} {summary[key]})" for key in ("epoch", "step")
                  if summary.get(key) is not None), "")
    return f"{metric} {format_value(summary['last'])}{where}"


def status_report(status: dict[str, Any], experiments: list[dict[str, Any]]) -> dict[str, Any]:
    """The machine-readable status: the optimizer's status dict, the top experiments and
    who is running what (``comet optimize status --json``)."""
    return {**status,
            "top": top_experiments(status, experiments),
            "running_workers": running_workers(experiments, status["spec"].get("metric"))}


def _budget_text(status: dict[str, Any]) -> str:
    budget = status.get("budget")
    if budget is None:
        return "unlimited"
    retries = status["spec"].get("retryAssignLimit", 0)
    parts = f"maxCombo {status['max_combo']} x trials {status['trials']}"
    if retries:
        parts += f" x {retries + 1} attempts"
    return f"{budget} ({parts})"


def counts_text(status: dict[str, Any]) -> str:
    reserved = status.get("reserved") or 0
    return (f"{status['assigned']} assigned: {status['completed']} completed, "
            f"{status['running']} running, {status['aborted']} aborted, "
            f"{status['failed']} failed" + (f", {reserved} reserved" if reserved else ""))


def damage_text(status: dict[str, Any]) -> str:
    damage = status.get("damage") or []
    first = damage[0]
    more = f" and {len(damage) - 1} more" if len(damage) > 1 else ""
    return (f"DAMAGED: {first['reason']} at byte {first['offset']}{more} "
            f"(see 'comet optimize check {status['id']}')")


def best_text(status: dict[str, Any]) -> str:
    best = status.get("best")
    if not best:
        return "-"
    spec = status["spec"]
    return (f"{spec.get('metric', 'loss')}={format_score(best.get('score'))} "
            f"({spec.get('objective', 'minimize')}) at #{best['count']}: "
            f"{format_params(best['parameters'])}")


def render_status(report: dict[str, Any]) -> str:
    """The human table of ``comet optimize status``."""
    spec = report["spec"]
    name = f"  {report['name']!r}" if report.get("name") not in (None, report["id"]) else ""
    space = report.get("configSpaceSize")
    lines = [
        f"Search {report['id']}{name}",
        key_values([
            ("algorithm", report["algorithm"]),
            ("status", report["status"]),
            ("objective", f"{spec.get('objective')} {spec.get('metric')}"),
            ("budget", _budget_text(report)),
            ("space", "infinite" if space is None else str(space)),
            ("experiments", counts_text(report)),
            ("best", best_text(report)),
            ("started", format_time(report.get("started"))),
            ("last update", format_time(report.get("updated"))),
            ("store", str(report.get("store", "-"))),
            *([("lease", f"{report['lease']:g} s (workers on other hosts or namespaces)")]
              if report.get("lease") else []),
            *([("journal", damage_text(report))] if report.get("damage") else []),
        ]),
    ]
    top = report["top"]
    names = parameter_names(report, top)
    lines.append("")
    if top:
        lines.append(f"Top {len(top)} (by {spec.get('metric')}, {spec.get('objective')})")
        rows = [[str(e["count"]), str(e["trial"]), format_score(e["score"]),
                 *[format_value(e["parameters"].get(n, "")) for n in names]] for e in top]
        lines.append(table(["count", "trial", spec.get("metric", "score"), *names], rows))
    else:
        lines.append("No completed experiment yet.")
    workers = report["running_workers"]
    lines.append("")
    if workers:
        lines.append("Running now")
        metric = report["spec"].get("metric", "score")
        rows = [[w["host"], str(w["process"]), ", ".join(f"#{c}" for c in w["counts"]),
                 format_time(w["since"]),
                 "; ".join(f"#{c} {latest_text(metric, summary)}"
                           for c, summary in w.get("latest", {}).items()) or "-"]
                for w in workers]
        lines.append(table(["host", "process", "experiments", "since", "so far"], rows))
    else:
        lines.append("Nothing running.")
    return "\n".join(lines)


def list_row(status: dict[str, Any]) -> dict[str, Any]:
    """One line of ``comet optimize list``."""
    best = status.get("best")
    return {
        "id": status["id"], "name": search_name(status), "algorithm": status["algorithm"],
        "status": status["status"] + (" (damaged)" if status.get("damage") else ""),
        "completed": status["completed"],
        "budget": status.get("budget"),
        "best": best.get("score") if best else None,
        "started": status.get("started"),
    }


def search_name(status: dict[str, Any]) -> str | None:
    """The name the user gave the search (status() shows the id when there is none)."""
    name = status.get("name")
    return None if name == status.get("id") else name


def render_list(rows: list[dict[str, Any]], store: str) -> str:
    if not rows:
        return f"No search in the store {store}."
    body = [[r["id"], r.get("name") or "-", r.get("algorithm") or "-", r["status"],
             f"{r.get('completed', '-')}/{r.get('budget') if r.get('budget') else '-'}",
             format_score(r.get("best")), format_time(r.get("started"))] for r in rows]
    header = ["id", "name", "algorithm", "status", "done/budget", "best", "started"]
    return f"Searches in {store}\n" + table(header, body)


_FIXED_COLUMNS = ["count", "trial", "status", "score", "retry", "pid", "id", "host", "process",
                  "startTime", "endTime"]


# What a script logged with Comet's set_name / add_tags / log_asset..., shown when any has it.
_LOGGED_COLUMNS = ["name", "tags", "assets"]
# Why an experiment failed or was aborted, shown when any has a reason.
_REASON_COLUMN = "reason"


def export_rows(status: dict[str, Any], experiments: list[dict[str, Any]]
                ) -> tuple[list[str], list[dict[str, Any]]]:
    """Columns and one flat row per experiment; parameters become columns (prefixed
    ``param_`` only when a name collides with a fixed column), and every logged metric
    a ``metric_<name>`` column holding its last value; ``name``, ``tags`` (comma-separated),
    ``assets`` (how many files) and ``reason`` (why it failed) when any experiment has them."""
    names = parameter_names(status, experiments)
    logged = [key for key in _LOGGED_COLUMNS if any(e.get(key) for e in experiments)]
    reason = [_REASON_COLUMN] if any(e.get("reason") for e in experiments) else []
    taken = set(_FIXED_COLUMNS + logged + reason)
    column_of = {n: f"param_{n}" if n in taken else n for n in names}
    metrics = sorted({m for e in experiments for m in (e.get("metrics") or {})})
    metric_columns = [f"metric_{m}" for m in metrics]
    columns = (_FIXED_COLUMNS[:4] + [column_of[n] for n in names] + metric_columns + logged
               + _FIXED_COLUMNS[4:] + reason)
    rows = []
    for experiment in experiments:
        row = {key: experiment.get(key) for key in _FIXED_COLUMNS + reason}
        row["name"] = experiment.get("name")
        row["tags"] = ",".join(experiment.get("tags") or []) or None
        row["assets"] = len(experiment.get("assets") or []) or None
        for name in names:
            row[column_of[name]] = experiment["parameters"].get(name)
        summaries = experiment.get("metrics") or {}
        for metric, column in zip(metrics, metric_columns):
            row[column] = summaries.get(metric, {}).get("last")
        rows.append({c: row[c] for c in columns})
    return columns, rows


def to_csv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()
