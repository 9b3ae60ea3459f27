"""Resume with COMET_OPTIMIZER_ID: a process that attaches continues exactly where the
creating process stopped, whatever order the stored config keeps the parameters in.

The stored config.json has its keys sorted, so the creating process sees the
parameters in the user's order and an attaching one in alphabetical order. The
names below are deliberately not in alphabetical order.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# Creates (config given) or attaches (COMET_OPTIMIZER_ID set), runs up to LIMIT
# experiments (-1: until the search is complete), prints one JSON line each.
WORKER = r"""
import json, math, sys
from comet_optimize import Optimizer

store, limit = sys.argv[1], int(sys.argv[2])
config = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
opt = Optimizer(config, verbose=0, store=store)
print(json.dumps({"id": opt.id}), flush=True)
done = 0
while limit < 0 or done < limit:
    experiment = opt.next()
    if experiment is None:
        break
    p = experiment.params
    loss = (p["zeta"] - 0.3) ** 2 + math.log10(p["alpha"]) ** 2 / 9 + (p["mid"] == "b")
    experiment.log_metric("loss", loss)
    experiment.end()
    print(json.dumps({"count": experiment.count, "params": p}), flush=True)
    done += 1
"""

PARAMETERS = {
    "zeta": {"type": "double", "min": 0.0, "max": 1.0, "gridSize": 3},
    "alpha": {"type": "double", "scalingType": "loguniform", "min": 1e-3, "max": 1.0,
              "gridSize": 3},
    "mid": {"type": "categorical", "values": ["a", "b"]},
}
GRID_SIZE = 3 * 3 * 2

CASES = {
    "grid": ({"algorithm": "grid", "spec": {"maxCombo": GRID_SIZE}}, 7),
    "grid-randomized": ({"algorithm": "grid",
                         "spec": {"maxCombo": GRID_SIZE, "randomize": True}}, 7),
    "random": ({"algorithm": "random", "spec": {"maxCombo": 12}}, 5),
    # Six random starts here, then four more and the model's first six over there.
    "bayes": ({"algorithm": "bayes", "spec": {"maxCombo": 16}}, 6),
}


def run(store: str, limit: int, config: dict | None = None,
        optimizer_id: str | None = None) -> tuple[str, list[dict]]:
    env = {**os.environ, "COMET_OPTIMIZE_STORE": store}
    env.pop("COMET_OPTIMIZER_ID", None)
    args = [sys.executable, "-c", WORKER, store, str(limit)]
    if config is not None:
        args.append(json.dumps(config))
    else:
        env["COMET_OPTIMIZER_ID"] = optimizer_id
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    return lines[0]["id"], lines[1:]


def sequence(lines: list[dict]) -> list[tuple]:
    """The parameter sets in assignment order, as comparable (name, value) tuples."""
    ordered = sorted(lines, key=lambda line: line["count"])
    assert [line["count"] for line in ordered] == list(range(1, len(ordered) + 1))
    return [tuple(sorted(line["params"].items())) for line in ordered]


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_search_created_in_one_process_is_finished_identically_in_another(tmp_path, case):
    head, first_part = CASES[case]
    config = {**head, "parameters": PARAMETERS}
    config["spec"] = {**config["spec"], "seed": 20240917}

    _, alone = run(str(tmp_path / "alone"), -1, config)

    split_store = str(tmp_path / "split")
    optimizer_id, created = run(split_store, first_part, config)
    assert len(created) == first_part
    _, attached = run(split_store, -1, optimizer_id=optimizer_id)

    together = sequence(created + attached)
    assert len(set(together)) == len(together), "a parameter set was handed out twice"
    assert together == sequence(alone)
    assert len(together) == config["spec"]["maxCombo"]
    if case.startswith("grid"):
        # One grid, fully covered: each axis takes exactly its gridSize values.
        for name, values in (("zeta", 3), ("alpha", 3), ("mid", 2)):
            assert len({dict(s)[name] for s in together}) == values
