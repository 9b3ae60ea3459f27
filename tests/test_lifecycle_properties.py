"""Property test of the assignment life cycle: whatever the workers do, the rules hold.

Two Optimizer objects share one store (two workers of one search); a third
thread shares the first Optimizer. Each runs its own random script at the same
time: take experiments (several may be open at once), log, end, fail inside a
``with`` block, log after the end. After every script the invariants of SPEC
§3-4 must hold, and every result must be recorded exactly as logged.
"""

from __future__ import annotations

import math
import tempfile
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from comet_optimize import Optimizer
from comet_optimize.optimizer import live_optimizers
from comet_optimize.store import open_store

STEPS = st.sampled_from(["take", "report", "nan", "end", "fail", "late"])
SCRIPT = st.lists(st.tuples(st.integers(0, 3), STEPS), min_size=1, max_size=15)


def run_script(optimizer: Optimizer, script, expected: dict, guard: threading.Lock) -> None:
    """``expected``: count -> (status, score) this script's actions imply."""
    handles = []
    for slot, step in script:
        if step == "take" or not handles:
            experiment = optimizer.next()
            if experiment is None:
                continue
            handles.append(experiment)
            with guard:
                expected[experiment.count] = ("aborted", None)
            continue
        experiment = handles[slot % len(handles)]
        count = experiment.count
        if step in ("report", "late") and (step == "late") == experiment.ended:
            value = float(experiment.params["a"] * 10 + slot)
            experiment.log_metric("loss", value)
            with guard:
                best = expected[count][1]
                score = value if best is None or math.isnan(best) else min(best, value)
                expected[count] = ("completed", score) if experiment.ended else (
                    expected[count][0], score)
        elif step == "nan" and not experiment.ended:
            experiment.log_metric("loss", float("nan"))
            with guard:
                if expected[count][1] is None:
                    expected[count] = (expected[count][0], math.nan)
        elif step == "end" and not experiment.ended:
            experiment.end()
            with guard:
                score = expected[count][1]
                expected[count] = ("aborted" if score is None else "completed", score)
        elif step == "fail" and not experiment.ended:
            try:
                with experiment:
                    raise RuntimeError("CUDA out of memory")
            except RuntimeError:
                pass
            with guard:
                expected[count] = ("failed", expected[count][1])
    for experiment in handles:  # as a normal exit would
        if not experiment.ended:
            experiment.end()
            with guard:
                score = expected[experiment.count][1]
                expected[experiment.count] = ("aborted" if score is None else "completed",
                                              score)


@settings(max_examples=40, deadline=None)
@given(scripts=st.tuples(SCRIPT, SCRIPT, SCRIPT),
       algorithm=st.sampled_from(["grid", "random", "bayes"]),
       trials=st.integers(1, 3), retries=st.integers(0, 2), max_combo=st.integers(1, 8))
def test_budget_uniqueness_and_results_hold_for_any_scripts(scripts, algorithm, trials, retries,
                                                            max_combo):
    store = tempfile.mkdtemp(prefix="lifecycle-")
    config = {"algorithm": algorithm, "trials": trials,
              "spec": {"maxCombo": max_combo, "retryAssignLimit": retries, "seed": 3},
              "parameters": {"a": [1, 2, 3], "b": ["x", "y"]}}
    first = Optimizer(config, verbose=0, store=store)
    second = Optimizer(first.id, verbose=0, store=store)
    expected: dict = {}
    guard = threading.Lock()
    threads = [threading.Thread(target=run_script, args=(opt, script, expected, guard))
               for opt, script in zip((first, second, first), scripts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    final = Optimizer(first.id, verbose=0, store=store)
    status = final.status()
    records = final.experiments()
    combos = min(max_combo, 6)
    assert status["assigned"] == len(records) == len(expected)
    assert len(records) <= combos * trials * (retries + 1)
    assert status["running"] == 0 and not status["damage"]
    assert sorted(r["count"] for r in records) == list(range(1, len(records) + 1))
    for record in records:
        state, score = expected[record["count"]]
        assert record["status"] == state, record
        if state == "completed":
            assert record["score"] == score or (math.isnan(score) and math.isnan(
                record["score"])), record
    first_tries = [(r["pid"], r["trial"]) for r in records if r["retry"] == 0]
    assert len(first_tries) == len(set(first_tries))  # no set handed out twice
    assert len({pid for pid, _ in first_tries}) <= combos
    for pid, trial in first_tries:
        assert 1 <= trial <= trials
        attempts = [r for r in records if (r["pid"], r["trial"]) == (pid, trial)]
        assert len(attempts) <= retries + 1
    assert open_store(store).exists(first.id)
    for optimizer in live_optimizers():
        optimizer._open.clear()  # nothing left for this test process's exit to end
