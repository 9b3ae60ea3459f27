"""Property test of the assignment life cycle: whatever two workers do, the rules hold.

Two Optimizer objects share one store (two workers of one search). A random script of
actions asks either for experiments, reports a metric or not, ends experiments
explicitly or implicitly. After every script the invariants of SPEC §3-4 must hold.
"""

from __future__ import annotations

import os
import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st

from comet_optimize import Optimizer

ACTIONS = st.lists(st.tuples(st.sampled_from([0, 1]),                 # which worker
                             st.sampled_from(["report", "abort", "nan", "end"])),
                   min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(actions=ACTIONS, algorithm=st.sampled_from(["grid", "random", "bayes"]),
       trials=st.integers(1, 3), retries=st.integers(0, 2), max_combo=st.integers(1, 8))
def test_budget_uniqueness_and_counts_hold_for_any_script(actions, algorithm, trials, retries,
                                                           max_combo):
    store = tempfile.mkdtemp(prefix="lifecycle-")
    config = {"algorithm": algorithm, "trials": trials,
              "spec": {"maxCombo": max_combo, "retryAssignLimit": retries, "seed": 3},
              "parameters": {"a": [1, 2, 3], "b": ["x", "y"]}}
    first = Optimizer(config, verbose=0, store=store)
    workers = [first, Optimizer(first.id, verbose=0, store=store)]
    for who, what in actions:
        experiment = workers[who].next()
        if experiment is None:
            continue
        if what in ("report", "end"):
            experiment.log_metric("loss", experiment.params["a"])
        elif what == "nan":
            experiment.log_metric("loss", float("nan"))
        if what == "end":
            experiment.end()
    for worker in workers:  # as a script's exit would
        worker._end_open_experiment()

    final = Optimizer(first.id, verbose=0, store=store)
    status = final.status()
    records = final.experiments()
    combos = min(max_combo, 6)
    assert status["assigned"] == len(records) <= combos * trials * (retries + 1)
    assert status["running"] == 0
    assert (status["completed"] + status["aborted"] + status["failed"]) == status["assigned"]
    first_tries = [(r["pid"], r["trial"]) for r in records if r["retry"] == 0]
    assert len(first_tries) == len(set(first_tries))  # no set handed out twice
    assert len({pid for pid, _ in first_tries}) <= combos
    for pid, trial in first_tries:
        assert 1 <= trial <= trials
        attempts = [r for r in records if (r["pid"], r["trial"]) == (pid, trial)]
        assert len(attempts) <= retries + 1
        # a (pid, trial) is tried again only after every earlier attempt failed or aborted
        for earlier in attempts[:-1]:
            assert earlier["status"] in ("aborted", "failed")
    assert os.path.isdir(os.path.join(store, first.id))
