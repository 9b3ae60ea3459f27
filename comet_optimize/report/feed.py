"""One search as the dashboard serves it: kept open, refreshed, and sent as deltas.

The dashboard keeps one `Optimizer` per search. A poll asks its ``status()``
(the optimizer reads only the journal's new events, and writes nothing);
when something moved it compares each experiment's
``(status, endTime, score)`` with what it last saw, and numbers the changes
with a version. A page that says ``since=V`` gets only the rows that changed
after V; one that is too far behind (or new) gets the whole payload.

Parameter importance (a random forest, ~1 s on a big search) is never
computed inside a poll: a single background thread recomputes it when enough
new results arrived, and the next poll carries it.
"""

from __future__ import annotations

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
        self.signatures: list[tuple[Any, ...]] = []
        self.tabulator: data.Tabulator | None = None
        self.header: dict[str, Any] = {}
        self.failures: dict[str, Any] = {"total": 0, "items": []}
        self.status: dict[str, Any] = {}
        self._last_update: Any = object()
        self.importance: dict[str, Any] | None = None
        self.importance_version = 0
        self._importance_results = -1
        self._importance_time = 0.0
        self._importance_busy = False

    # -- catching up

    def refresh(self) -> None:
        """Catch up with the store; cheap when nothing happened since the last call."""
        with self.lock:
            # status() catches up with the journal by itself and writes nothing (refresh()
            # would also record dead workers as failed: a reader must not write).
            status = self.optimizer.status()
            self.status = status
            self.header = data.header(status)
            mark = (status.get("lastUpdateTime"), status.get("assigned"),
                    status.get("completed"), status.get("failed"), status.get("aborted"))
            if mark == self._last_update:
                return
            self._last_update = mark
            experiments = self.optimizer.experiments()
            if self.tabulator is None:
                self.tabulator = data.tabulator_for(status, experiments)
            changed = []
            for index, experiment in enumerate(experiments):
                signature = (experiment.get("status"), experiment.get("endTime"),
                             experiment.get("score"))
                if index < len(self.signatures):
                    if self.signatures[index] == signature:
                        continue
                    self.signatures[index] = signature
                    self.rows[index] = self.tabulator.row(experiment)
                else:
                    self.signatures.append(signature)
                    self.index[experiment["count"]] = len(self.rows)
                    self.rows.append(self.tabulator.row(experiment))
                changed.append(experiment["count"])
            if changed or not self.log:
                self.version += 1
                self.log.append((self.version, changed))
                del self.log[:-MAX_LOG]
                self.failures = data.failures(
                    [e for e in experiments if e.get("status") in ("failed", "aborted")],
                    self.header["metric"])
            self._maybe_refit(status)

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
            if since is None or since > self.version or since < oldest - 1:
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
