"""``comet optimize status ID --watch``: the search, live, in the terminal.

On a terminal the view is redrawn in place every second (the cursor goes
back up over the previous frame, so the scrollback is left alone); it ends
when the search completes or on Ctrl-C. Anywhere else (a pipe, a log file,
CI) it prints one plain line each time the counts or the best result change,
so the output reads as a history rather than a heap of escape codes.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from typing import IO, Any

from comet_optimize.cli import report

INTERVAL = 1.0
MAX_WORKER_LINES = 20


def frame(status: dict[str, Any], experiments: list[dict[str, Any]], now: float,
          width: int = 100) -> list[str]:
    """The lines of one redraw: counts, progress, best, and who runs what since when."""
    budget = status.get("budget")
    done = status["completed"] + status["aborted"] + status["failed"]
    name = report.search_name(status)
    lines = [f"Search {status['id']}" + (f"  {name!r}" if name else ""),
             f"  {status['algorithm']}, {status['status']}; {report.counts_text(status)}"]
    if budget:
        bar_width = max(10, min(50, width - 30))
        filled = int(bar_width * min(done, budget) / budget)
        lines.append(f"  [{'#' * filled}{'.' * (bar_width - filled)}] {done}/{budget} done")
    else:
        lines.append(f"  {done} done (no budget: runs until stopped)")
    lines.append(f"  best {report.best_text(status)}")
    metric = status["spec"].get("metric", "score")
    running = report.running_workers(experiments, metric)
    if running:
        lines.append("  running:")
        ages = {e["count"]: now - e["startTime"] for e in experiments
                if e["status"] == "running" and e.get("startTime")}
        for worker in running[:MAX_WORKER_LINES]:
            held = ", ".join(
                f"#{c} for {report.format_duration(max(ages.get(c, 0.0), 0.0))}"
                + (f", {report.latest_text(metric, worker['latest'][c])}"
                   if c in worker["latest"] else "")
                for c in worker["counts"])
            lines.append(f"    {worker['host']} pid {worker['process']}: {held}")
        if len(running) > MAX_WORKER_LINES:
            lines.append(f"    ... and {len(running) - MAX_WORKER_LINES} more workers")
    else:
        lines.append("  nothing running")
    lines.append(f"  updated {time.strftime('%H:%M:%S', time.localtime(now))}"
                 + ("  (Ctrl-C to stop watching)" if status["status"] != "completed" else ""))
    return lines


def plain_line(status: dict[str, Any], now: float) -> str:
    budget = status.get("budget")
    done = status["completed"] + status["aborted"] + status["failed"]
    best = status.get("best")
    return (f"{time.strftime('%H:%M:%S', time.localtime(now))} {status['status']}: "
            f"{done}/{budget if budget else '-'} done ({status['completed']} completed, "
            f"{status['aborted']} aborted, {status['failed']} failed), "
            f"{status['running']} running, best "
            f"{report.format_score(best['score']) if best else '-'}")


def watch(opt: Any, out: IO[str], is_terminal: bool, interval: float = INTERVAL,
          sleep: Callable[[float], None] = time.sleep) -> int:
    """Show the search until it completes (0) or Ctrl-C (0, having said so)."""
    drawn = 0
    last = None
    try:
        while True:
            status = opt.status()
            now = time.time()
            if is_terminal:
                width = shutil.get_terminal_size((100, 24)).columns
                lines = [report.shown(line)[:width - 1] for line in
                         frame(status, opt.experiments(), now, width)]
                # up over the last frame, then clear to the end of the screen
                prefix = f"\x1b[{drawn}F\x1b[J" if drawn else ""
                out.write(prefix + "\n".join(lines) + "\n")
                drawn = len(lines)
            else:
                key = (status["status"], status["assigned"], status["completed"],
                       status["aborted"], status["failed"], status["running"],
                       (status.get("best") or {}).get("count"))
                if key != last:
                    out.write(report.shown(plain_line(status, now)) + "\n")
                    last = key
            out.flush()
            if status["status"] == "completed":
                return 0
            sleep(interval)
    except KeyboardInterrupt:
        out.write("\nstopped watching (the search goes on)\n")
        out.flush()
        return 0
