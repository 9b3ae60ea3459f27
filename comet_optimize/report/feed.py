"""One search as the dashboard serves it: kept open, refreshed, and sent as deltas.

The dashboard keeps one `Optimizer` per search. A poll asks its ``status()``
and ``experiments_since(cursor)``: the optimizer reads only the journal's new
events (and writes nothing), and returns only the experiments that changed
since the previous poll, so a refresh costs in proportion to what happened,
not to the size of the search. The changed rows are numbered with a version;
a page that says ``since=V`` gets only the rows that changed after V; one that
is too far behind (or new) gets the whole payload.

Parameter importance (a random forest, ~1 s on a big search) is never
computed inside a poll: a single background thread recomputes it when enough
new results arrived, and the next poll carries it.
"""

from __future__ import annotations

import heapq
import threading
import time
from concurrent.futures import Executor
from typing import Any

from comet_optimize.report import data

MAX_LOG = 500  # versions remembered for deltas; an older `since` gets everything
IMPORTANCE_EVERY = 10.0  # seconds between two importance fits of one search
IMPORTANCE_GROWTH = 1.1  # ... and only after 10% more results (or 20, if more)


class SearchFeed:
    """The incremental view of one search; safe to poll from several server threads."""

    def __init__(self, optimizer: Any, importance_pool: Executor | None = None):
        self.optimizer = optimizer
        self.pool = importance_pool
        self.lock = threading.Lock()
        self.version = 0
        self.log: list[tuple[int, list[int]]] = []  # (version, counts changed then)
        self.rows: list[list[Any]] = []
        self.index: dict[int, int] = {}  # count -> position in rows
        self.cursor: Any = None  # where the optimizer's experiments_since stopped
        self.reset_version = 0  # a page behind this version gets everything
        self.bad: dict[int, dict[str, Any]] = {}  # failed and aborted experiments by count
        self.tabulator: data.Tabulator | None = None
        self.header: dict[str, Any] = {}
        self.failures: dict[str, Any] = {"total": 0, "items": []}
        self.status: dict[str, Any] = {}
        self.importance: dict[str, Any] | None = None
        self.importance_version = 0
        self._importance_results = -1
        self._importance_time = 0.0
        self._importance_busy = False

    # -- catching up

    def refresh(self) -> None:
        """Catch up with the store, reading and converting only what changed."""
        with self.lock:
            # Neither call takes the search's lock or writes (refresh() would also record
            # dead workers as failed: a reader must not write).
            changes = self.optimizer.experiments_since(self.cursor)
            status = self.optimizer.status()
            self.cursor = changes.cursor
            self.status = status
            self.header = data.header(status)
            experiments = changes.experiments
            if changes.full:
                self._reset(status, experiments)
            elif experiments:
                self._merge(experiments)
            self._maybe_refit(status)

    def _reset(self, status: dict[str, Any], experiments: list[dict[str, Any]]) -> None:
        """Everything anew (the first read, or the optimizer rebuilt its state)."""
        self.tabulator = data.tabulator_for(status, experiments)
        self.rows = [self.tabulator.row(e) for e in experiments]
        self.index = {e["count"]: i for i, e in enumerate(experiments)}
        self.bad = {e["count"]: e for e in experiments
                    if e.get("status") in data.BAD_STATES}
        self.version += 1
        self.reset_version = self.version
        self.log = [(self.version, [e["count"] for e in experiments])]
        self._list_failures()

    def _merge(self, experiments: list[dict[str, Any]]) -> None:
        assert self.tabulator is not None
        failures_moved = False
        for experiment in experiments:
            count = experiment["count"]
            row = self.tabulator.row(experiment)
            position = self.index.get(count)
            if position is None:
                self.index[count] = len(self.rows)
                self.rows.append(row)
            else:
                self.rows[position] = row
            if experiment.get("status") in data.BAD_STATES:
                self.bad[count] = experiment
                failures_moved = True
            elif self.bad.pop(count, None) is not None:
                failures_moved = True
        self.version += 1
        self.log.append((self.version, [e["count"] for e in experiments]))
        del self.log[:-MAX_LOG]
        if failures_moved:
            self._list_failures()

    def _list_failures(self) -> None:
        latest = sorted(heapq.nlargest(data.MAX_FAILURES, self.bad))
        self.failures = data.failures([self.bad[c] for c in latest], self.header["metric"],
                                      total=len(self.bad))

    def _maybe_refit(self, status: dict[str, Any]) -> None:
        results = status.get("completed") or 0
        if self.pool is None or self._importance_busy or results == self._importance_results:
            return
        grown = results >= max(self._importance_results * IMPORTANCE_GROWTH,
                               self._importance_results + 20)
        recent = time.monotonic() - self._importance_time < IMPORTANCE_EVERY
        if self.importance is not None and (recent or not grown) and status["running"]:
            return
        self._importance_busy = True
        payload = data.assemble(self.header, self.tabulator, list(self.rows), self.failures,
                                None)
        self.pool.submit(self._refit, payload, results)

    def _refit(self, payload: dict[str, Any], results: int) -> None:
        from comet_optimize.report import importance

        try:
            result = importance.compute(payload)
        except Exception as error:  # shown on the page, never kills the server
            result = {"items": [], "note": f"Parameter importance failed: {error}"}
        with self.lock:
            self.importance_version += 1
            self.importance = {**result, "version": self.importance_version}
            self._importance_results = results
            self._importance_time = time.monotonic()
            self._importance_busy = False
            self.version += 1  # so that pages waiting on a delta pick it up
            self.log.append((self.version, []))
            del self.log[:-MAX_LOG]

    # -- answering a page

    def payload(self) -> dict[str, Any]:
        """Everything, for a page that has nothing yet."""
        with self.lock:
            return data.assemble(self.header, self.tabulator, list(self.rows), self.failures,
                                 self.importance)

    def delta(self, since: int | None) -> dict[str, Any]:
        """What changed after version ``since`` (all of it when ``since`` is unknown)."""
        self.refresh()
        with self.lock:
            oldest = self.log[0][0] if self.log else self.version + 1
            if since is None or since > self.version or since < oldest - 1 \
                    or since < self.reset_version:
                full = data.assemble(self.header, self.tabulator, list(self.rows),
                                     self.failures, self.importance)
                return {"version": self.version, "full": True, "payload": full}
            counts: set[int] = set()
            for version, changed in reversed(self.log):
                if version <= since:
                    break
                counts.update(changed)
            return {
                "version": self.version, "full": False, "generated": time.time(),
                "rows": [self.rows[self.index[c]] for c in sorted(counts)],
                "header": self.header,
                "workers": self.tabulator.workers if self.tabulator else [],
                "failures": self.failures,
                "importance": self.importance,
            }

    def summary(self) -> dict[str, Any]:
        """One line of the dashboard's list of searches."""
        from comet_optimize.cli.report import list_row

        self.refresh()
        with self.lock:
            return list_row(self.status)
